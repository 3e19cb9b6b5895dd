"""``python -m paysim_cli …``: the client commands where only the client package is installed."""

import sys

from paysim_cli.app import main

sys.exit(main())
