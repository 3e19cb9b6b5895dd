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


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A PostgreSQL ``pg_snapshot``: ``xmin:xmax:xip,…``."""

    xmin: int
    xmax: int
    in_progress: frozenset[int]

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
        blockers = self._blockers.setdefault(gap, snapshot.in_progress)
        return all(snapshot.finished(xid) for xid in blockers)
