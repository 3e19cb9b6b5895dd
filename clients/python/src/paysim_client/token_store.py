"""Where a login session's tokens live between processes: :class:`TokenStore`.

A client opened with ``token_store=`` keeps its session there: a login saves the new pair, every
refresh saves the rotated one, a logout forgets it, and a later process resumes the session from
it without the password (a command-line tool, a test runner started again). Each use of a refresh
token spends it, and paysim revokes the whole session when a spent one comes back, so processes
sharing a store must never refresh the same pair twice: the client holds the store's ``lock()``
around every refresh and first adopts a pair that another process saved in the meantime.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from paysim_proto.v1.auth_pb2 import TokenPair


class TokenStore(Protocol):
    """Keeps one session's token pair; see the module documentation."""

    def load(self) -> TokenPair | None:
        """The pair saved last (by any process), or None."""
        ...

    def save(self, tokens: TokenPair | None) -> None:
        """Keep ``tokens`` in place of the saved pair; None forgets it (the session ended)."""
        ...

    def lock(self) -> AbstractContextManager[object]:
        """Exclusive access across the processes sharing the store, held around each refresh.

        Entered on the client's event loop: it should only wait as long as another process's
        refresh takes (one call)."""
        ...


__all__ = ["TokenStore"]
