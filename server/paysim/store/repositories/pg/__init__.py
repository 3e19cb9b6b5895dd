"""The repositories of the PostgreSQL payment unit of work (pg_unit_of_work.py): psycopg straight,
reads at once, writes queued in the unit of work's ``PgWriteBatch`` for its commit."""
