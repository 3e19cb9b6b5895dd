"""Python client for paysim. The generated contract lives in :mod:`paysim_client.v1`."""

__version__ = "0.1.0"
