"""The PostgreSQL notification channel that announces committed payment events to every process.

The channel is per schema (several paysim databases may share one PostgreSQL database in
separate schemas), hashed to stay within PostgreSQL's 63-byte identifier limit.
"""

from __future__ import annotations

CHANNEL_SQL = "SELECT 'paysim_events_' || md5(current_schema())"
NOTIFY_SQL = "SELECT pg_notify(%s, '')"
