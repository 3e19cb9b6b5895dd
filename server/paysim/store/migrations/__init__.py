"""Alembic migrations, applied by the server at start and by ``paysim migrate``."""
