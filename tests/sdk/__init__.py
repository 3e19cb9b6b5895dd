"""The Python client SDK: unit tests of its pure parts, and its whole surface through a real server."""
