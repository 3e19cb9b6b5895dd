"""JSON log lines on stderr: one object per line, structured fields merged in.

Log calls pass structured data as ``extra={"fields": {...}}``. Nothing secret is ever put
there: no passwords, tokens, API keys, card numbers or request bodies.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            # Several worker processes may share one output (serve --workers N).
            "pid": record.process,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure(level: str) -> None:
    # A line carries none of the caller's file, line, thread or process name: leaving them out
    # spares every record a walk of the stack and three lookups (the logging module's documented
    # optimisation). The process id stays, for serve --workers.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # SQLAlchemy and alembic chatter is not ours to print at INFO; nor httpx's line per webhook
    # attempt (the dispatcher logs each attempt itself, with its delivery and event ids).
    for noisy in ("alembic", "sqlalchemy", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
