"""Persistence: the schema, the engine, the unit of work and the repositories."""
