"""Test support: a real server on port 0 in a background thread, clients and factories."""
