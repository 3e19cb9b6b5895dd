"""How far the event store can be read in sequence order without ever skipping an event.

On PostgreSQL ``payment_events.seq`` comes from a sequence, and sequence values are handed out
when a transaction inserts, not when it commits: a transaction holding seq 10 may commit after
one holding seq 11. A reader that delivered 11 and moved its cursor there would never deliver
10. So a reader delivers in seq order only up to the first *gap* it cannot yet explain.

A gap at seq g, seen in a snapshot S in which a higher seq is already visible, belongs to a
transaction that called nextval for g before that higher event committed. Every payment
transaction writes its projection row before its events (``PaymentRepository.save``), so it
had a transaction id before it took g, and in S it was either still in progress (so its xid
is in S's in-progress list) or it had aborted (g will never appear). The gap is therefore
settled — filled, or proven permanent — once every xid that was in progress in S has
finished: the reader records S's in-progress xids as the gap's *blockers* and, in a later
snapshot that shows all of them finished and still no g, skips g for good.

Which xids count: PostgreSQL's snapshot lists every transaction running in the whole cluster
(other databases, other schemas, other applications), and one of them left open for minutes
must not stop paysim's streams. A transaction that holds a seq inserted into
``payment_events``, so it holds a lock on that table from before it took the seq until it ends.
So the event log reads, *after* the snapshot, which transactions hold a lock on the table (its
*writers*), and only the snapshot's in-progress xids among them block a gap. One that ended
between the snapshot and that read is not listed, but its rows may be missing from the
snapshot's results: so a gap whose blockers were narrowed this way is settled only by a later
snapshot, never by the one it was first seen in.

Rolled-back transactions and conflicts leave such permanent gaps routinely; they cost one
re-read after the blockers finish (usually milliseconds: paysim's transactions commit in one
pipeline). Read-only transactions (backups, reports) take no xid and never block. The rows and
the snapshot must come from the same statement, so that "finished in this snapshot" implies
"its rows are visible in these results".

On SQLite writers are serialized and seq is assigned under the write lock, so seq order is
commit order: there is no snapshot, and a gap (which cannot occur there) is never waited for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_XID32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A PostgreSQL ``pg_snapshot``: ``xmin:xmax:xip,…``. ``writers``: the 32-bit xids that held
    a lock on the event table when looked at after the snapshot (None: not looked at)."""

    xmin: int
    xmax: int
    in_progress: frozenset[int]
    writers: frozenset[int] | None = None

    def with_writers(self, writers: frozenset[int]) -> Snapshot:
        return Snapshot(self.xmin, self.xmax, self.in_progress, writers)

    @property
    def blockers(self) -> frozenset[int]:
        """The in-progress transactions that may hold a seq not visible in this snapshot."""
        if self.writers is None:
            return self.in_progress
        # pg_snapshot has 64-bit xids (epoch and xid), pg_locks the 32-bit xid.
        return frozenset(x for x in self.in_progress if x & _XID32 in self.writers)

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, xip = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x))

    def finished(self, xid: int) -> bool:
        """Whether transaction ``xid`` had committed or aborted when this snapshot was taken."""
        return xid < self.xmin or (xid < self.xmax and xid not in self.in_progress)


class SequenceHorizon:
    """The position up to which every seq is settled, advanced one read at a time."""

    def __init__(self, position: int) -> None:
        self.position = position
        self._blockers: dict[int, frozenset[int]] = {}

    @property
    def waiting(self) -> bool:
        """Whether a gap is open: read again soon even if nothing new is announced."""
        return bool(self._blockers)

    def advance(self, seqs: Sequence[int], snapshot: Snapshot | None) -> int:
        """Given the ascending seqs visible after ``position`` (read together with ``snapshot``;
        None on SQLite), move the position as far as is safe and return how many of ``seqs``,
        from the start, may be delivered now."""
        expected = self.position + 1
        deliverable = 0
        blocked = False
        for seq in seqs:
            while expected < seq:
                if not self._settled(expected, snapshot):
                    blocked = True
                expected += 1
                if not blocked:
                    self.position = expected - 1
            if not blocked:
                deliverable += 1
                self.position = seq
            expected = seq + 1
        for settled in [g for g in self._blockers if g <= self.position]:
            del self._blockers[settled]
        return deliverable

    def _settled(self, gap: int, snapshot: Snapshot | None) -> bool:
        if snapshot is None:
            return True
        blockers = self._blockers.get(gap)
        if blockers is None:
            blockers = self._blockers[gap] = snapshot.blockers
            if snapshot.writers is not None:
                return False  # narrowed after the snapshot: only a later one can settle it
        return all(snapshot.finished(xid) for xid in blockers)
