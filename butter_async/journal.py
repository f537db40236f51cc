"""The bulk writer's journal: an append-only JSON Lines record that makes jobs resumable.

Before an operation is sent a `start` line is written; when it finishes, its outcome.
Each line is handed to the OS at once (a killed process loses nothing written), and
fsync'ed in batches (a power cut loses at most one batch). On a re-run, operations with
a successful outcome are skipped, and operations started but never finished are
re-checked against the API before anything is sent again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO

import attrs
import orjson

DONE_OUTCOMES = frozenset({"created", "updated", "deleted", "already_existed"})


@attrs.frozen
class JournalState:
    """What an existing journal says: finished keys with their outcome, and unfinished ones."""

    done: dict[str, str]
    unfinished: frozenset[str]


class Journal:
    """Append-only record of started and finished operations, keyed by operation key."""

    def __init__(
        self, path: str | os.PathLike[str], *, fsync_every: int = 256, fsync_interval: float = 1.0
    ) -> None:
        self.path = Path(path)
        self.fsync_every = fsync_every
        self.fsync_interval = fsync_interval
        self._file: IO[bytes] | None = None
        self._unsynced = 0
        self._synced_at = time.monotonic()

    def load(self) -> JournalState:
        """Read what earlier runs recorded; a torn last line (from a kill) is ignored."""
        done: dict[str, str] = {}
        started: set[str] = set()
        if not self.path.exists():
            return JournalState(done, frozenset())
        with self.path.open("rb") as lines:
            for line in lines:
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                key = entry.get("key")
                if not isinstance(key, str):
                    continue
                outcome = entry.get("outcome")
                if outcome is None:
                    started.add(key)
                elif outcome in DONE_OUTCOMES:
                    done[key] = outcome
                    started.discard(key)
                else:
                    started.discard(key)
        return JournalState(done, frozenset(started - set(done)))

    def open(self) -> None:
        """Open for appending, starting on a fresh line after a torn one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab", buffering=0)
        if self.path.stat().st_size:
            with self.path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    self._file.write(b"\n")

    def started(self, key: str, index: int) -> None:
        """Record that an operation is about to be sent."""
        self._append({"key": key, "index": index})

    def finished(self, key: str, index: int, outcome: str, detail: str | None = None) -> None:
        """Record an operation's outcome."""
        entry: dict[str, object] = {"key": key, "index": index, "outcome": outcome}
        if detail:
            entry["detail"] = detail
        self._append(entry)

    def _append(self, entry: dict[str, object]) -> None:
        if self._file is None:
            raise RuntimeError("journal is not open")
        self._file.write(orjson.dumps(entry) + b"\n")
        self._unsynced += 1
        now = time.monotonic()
        if self._unsynced >= self.fsync_every or now - self._synced_at >= self.fsync_interval:
            os.fsync(self._file.fileno())
            self._unsynced = 0
            self._synced_at = now

    def close(self) -> None:
        """Fsync and close."""
        if self._file is not None:
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
