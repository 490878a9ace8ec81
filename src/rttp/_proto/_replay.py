"""Nonce counts shared by every process of a server: a replayed digest ``Authorization``
is refused whichever worker it reaches (no I/O).

The table lives in anonymous shared memory mapped when the store is made. A server's
auth policy is made when the application is imported, which a pre-fork pool
(``rttp serve --workers N``) does before it forks: every worker then maps the same
pages, and one lock (a process-shared semaphore, taken for microseconds) orders them.
Each slot holds a 16-byte key (a BLAKE2b of the nonce), the highest count accepted and
when the nonce expires; an expired slot is free again. Keys are probed linearly; a
table with no free slot left near a key refuses new nonces (fail closed: the client
gets a fresh challenge) rather than forget one that could then be replayed.
"""

from __future__ import annotations

import hashlib
import mmap
import multiprocessing
import struct
from typing import Final

__all__ = ["DEFAULT_NONCE_SLOTS", "NonceCounts"]

#: nonces tracked at once (each lives ``nonce_lifetime`` seconds): 24 bytes a slot
DEFAULT_NONCE_SLOTS: Final = 16384
_SLOT: Final = struct.Struct("<16sQQ")  # key, count, expiry (whole seconds)
_PROBE: Final = 32  # slots looked at from a key's home slot


class NonceCounts:
    """The highest nonce count accepted per nonce, shared across forked workers."""

    def __init__(self, slots: int = DEFAULT_NONCE_SLOTS) -> None:
        self._slots = slots
        self._memory = mmap.mmap(-1, slots * _SLOT.size)  # MAP_SHARED | MAP_ANONYMOUS
        self._lock = multiprocessing.get_context("fork").Lock()  # pragma: no mutate

    def advance(self, nonce: str, count: int, expires: float, now: float) -> bool | None:
        """Record ``count`` for ``nonce`` if it is higher than any accepted before:
        True. False if it is not (a replay). None if the table has no room (refuse)."""
        # pragma: no mutate start (any stable hash and home slot serve)
        key = hashlib.blake2b(nonce.encode("utf-8"), digest_size=16).digest()
        home = int.from_bytes(key[:8], "little") % self._slots
        # pragma: no mutate end
        memory = self._memory
        with self._lock:
            free = -1  # pragma: no mutate
            for step in range(_PROBE):
                offset = ((home + step) % self._slots) * _SLOT.size  # pragma: no mutate
                stored, seen, expiry = _SLOT.unpack_from(memory, offset)
                if stored == key and expiry > now:
                    if count <= seen:
                        return False
                    _SLOT.pack_into(memory, offset, key, count, expiry)
                    return True
                if free < 0 and expiry <= now:  # pragma: no mutate (any free slot serves)
                    free = offset  # empty (expiry 0) or expired: reusable
            if free < 0:
                return None
            _SLOT.pack_into(memory, free, key, count, int(expires) + 1)
            return True
