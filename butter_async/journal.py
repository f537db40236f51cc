"""The bulk writer's journal: an SQLite file that makes a job resumable and knows its job.

The first row describes the job: the target (the API root) and a fingerprint of the
account (a hash of the read token, never the token), plus an optional job id. A journal
written against another target is refused, so a job re-pointed from staging to
production cannot skip work it never did there.

Before an operation is sent its `started` row is committed; when it finishes, its
outcome. Commits go to SQLite's write-ahead log, which the OS holds as soon as the commit
returns, so a killed process loses nothing committed. On a re-run, operations with a
successful outcome are skipped and operations started but never finished are re-checked
against the API before anything is sent again. Lookups are by key, one at a time, so
resuming a job of a million operations needs no more memory than a small one.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import attrs
import orjson

from .errors import JournalMismatchError

_LOOKUP_BATCH = 500  # under SQLite's limit on bound parameters
DONE_OUTCOMES = frozenset({"created", "updated", "deleted", "already_existed"})
STARTED = "started"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS job (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    target TEXT NOT NULL,
    account TEXT NOT NULL,
    job_id TEXT,
    input_digest TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS operations (
    key TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL,
    detail TEXT
) WITHOUT ROWID;
"""


@attrs.frozen
class JobDescription:
    """What a journal was written for: where, for which account, and which job."""

    target: str
    account: str
    job_id: str | None = None
    input_digest: str | None = None

    def differs_from(self, other: JobDescription) -> bool:
        """Whether resuming `other`'s journal for this job would skip the wrong work."""
        if (self.target, self.account) != (other.target, other.account):
            return True
        return None not in (self.job_id, other.job_id) and self.job_id != other.job_id

    def __str__(self) -> str:
        job = f", job {self.job_id!r}" if self.job_id else ""
        return f"{self.target} (account {self.account}{job})"


class Journal:
    """The record of a job's operations, keyed by operation key."""

    def __init__(
        self, path: str | os.PathLike[str], *, commit_every: int = 256, commit_interval: float = 0.5
    ) -> None:
        self.path = Path(path)
        self.commit_every = commit_every
        self.commit_interval = commit_interval
        self._db: sqlite3.Connection | None = None
        self._commit_done: asyncio.Future[None] | None = None
        self._uncommitted = 0
        self._committed_at = time.monotonic()

    def open(self, description: JobDescription, *, override: bool = False) -> None:
        """Open (or create) the journal for the job `description`.

        Raises JournalMismatchError if it was written for another target, account or job
        id, unless `override` (the journal then adopts this job).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if _is_json_lines(self.path):
            _migrate_json_lines(self.path)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            recorded = _description(db)
            if recorded is not None and description.differs_from(recorded) and not override:
                raise JournalMismatchError(
                    f"the journal {self.path} was written for {recorded}, not for "
                    f"{description}: resuming it would skip work never done here. Use another "
                    "journal, or pass the override (journal_override=True, --force-journal) "
                    "if this is really the same job."
                )
            if recorded is None or override:
                _describe(db, description)
        except BaseException:
            db.close()
            raise
        self._db = db
        db.execute("BEGIN")

    def state_of(self, key: str) -> str | None:
        """`started`, the outcome an earlier run recorded for `key`, or None."""
        return self.states_of([key]).get(key)

    def states_of(self, keys: list[str]) -> dict[str, str]:
        """What earlier runs recorded for each of `keys` that they saw."""
        db = self._connection()
        found: dict[str, str] = {}
        for start in range(0, len(keys), _LOOKUP_BATCH):
            batch = keys[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(batch))
            rows = db.execute(f"SELECT key, state FROM operations WHERE key IN ({marks})", batch)
            found.update((str(key), str(state)) for key, state in rows)
        return found

    async def started(self, key: str, index: int) -> None:
        """Record that an operation is about to be sent; returns once that is committed.

        Operations started in the same turn of the event loop share one commit.
        """
        self._connection().execute(
            "INSERT INTO operations (key, idx, state) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET idx = excluded.idx, state = excluded.state",
            (key, index, STARTED),
        )
        if self._commit_done is None:
            loop = asyncio.get_running_loop()
            self._commit_done = loop.create_future()
            loop.call_soon(self._group_commit)
        await self._commit_done

    def _group_commit(self) -> None:
        done, self._commit_done = self._commit_done, None
        if self._db is not None:
            self._commit()
        if done is not None and not done.done():
            done.set_result(None)

    def finished(self, key: str, index: int, outcome: str, detail: str | None = None) -> None:
        """Record an operation's outcome (committed in batches: a lost one is re-checked)."""
        self._connection().execute(
            "INSERT INTO operations (key, idx, state, detail) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET idx = excluded.idx, state = excluded.state, "
            "detail = excluded.detail",
            (key, index, outcome, detail),
        )
        self._uncommitted += 1
        now = time.monotonic()
        if (
            self._uncommitted >= self.commit_every
            or now - self._committed_at >= self.commit_interval
        ):
            self._commit()

    def counts(self) -> Counter[str]:
        """How many operations are in each state."""
        rows = self._connection().execute("SELECT state, COUNT(*) FROM operations GROUP BY state")
        return Counter({str(state): int(n) for state, n in rows})

    def entries(self) -> Iterator[tuple[str, str, str | None]]:
        """(key, state, detail) of every operation, in key order."""
        rows = self._connection().execute("SELECT key, state, detail FROM operations ORDER BY key")
        for key, state, detail in rows:
            yield str(key), str(state), detail

    def close(self) -> None:
        """Commit what is pending and close."""
        if self._db is not None:
            self._db.execute("COMMIT")
            self._db.close()
            self._db = None

    def _commit(self) -> None:
        db = self._connection()
        db.execute("COMMIT")
        db.execute("BEGIN")
        self._uncommitted = 0
        self._committed_at = time.monotonic()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("journal is not open")
        return self._db


def read_journal(path: str | os.PathLike[str]) -> tuple[JobDescription | None, Counter[str]]:
    """A journal's job description and state counts, without opening it for a job."""
    db = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT state, COUNT(*) FROM operations GROUP BY state")
        counts = Counter({str(state): int(n) for state, n in rows})
        return _description(db), counts
    finally:
        db.close()


def _description(db: sqlite3.Connection) -> JobDescription | None:
    row = db.execute("SELECT target, account, job_id, input_digest FROM job").fetchone()
    return None if row is None else JobDescription(*row)


def _describe(db: sqlite3.Connection, description: JobDescription) -> None:
    db.execute(
        "INSERT OR REPLACE INTO job (id, target, account, job_id, input_digest, created) "
        "VALUES (1, ?, ?, ?, ?, ?)",
        (
            description.target,
            description.account,
            description.job_id,
            description.input_digest,
            time.time(),
        ),
    )


def _is_json_lines(path: Path) -> bool:
    """Whether `path` is a journal of the JSON Lines format of earlier versions."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as head:
        return head.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC


def _migrate_json_lines(path: Path) -> None:
    """Convert an old JSON Lines journal in place; the original is kept beside it.

    Old journals name no target, so the migrated one adopts the job that opens it.
    """
    states: dict[str, tuple[int, str, str | None]] = {}
    with path.open("rb") as lines:
        for line in lines:
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a torn last line, from a kill
            key = entry.get("key") if isinstance(entry, dict) else None
            if not isinstance(key, str):
                raise JournalMismatchError(
                    f"{path} is neither a journal of this version nor of the JSON Lines format"
                )
            index = int(entry.get("index") or 0)
            states[key] = (index, str(entry.get("outcome") or STARTED), entry.get("detail"))
    converted = path.with_name(path.name + ".converting")
    converted.unlink(missing_ok=True)
    db = sqlite3.connect(converted)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO operations (key, idx, state, detail) VALUES (?, ?, ?, ?)",
            ((key, *state) for key, state in states.items()),
        )
        db.commit()
    finally:
        db.close()
    path.replace(path.with_name(path.name + ".v1.jsonl"))
    converted.replace(path)
