"""The bulk writer's journal: an SQLite file that makes a job resumable and knows its job.

The first row describes the job: the target (the API root), a fingerprint of the account
(a hash of the read token, never the token) and an optional job id. A journal written
against another target is refused, so a job re-pointed from staging to production
cannot skip work it never did there.

Before an operation is sent its `started` row is committed; when it finishes, its
outcome. Commits go to SQLite's write-ahead log, so a killed process loses nothing
committed. On a re-run, operations with a successful outcome are skipped and those
started but never finished are re-checked against the API before anything is sent
again. Lookups are by key, so resuming a million operations needs little memory.

One job at a time: opening takes an exclusive OS file lock (`flock`) on `JOURNAL.lock`
beside it, and a second job is refused at once, naming the holder. The OS drops the lock
when its process ends, however it ends, so a killed job never blocks its resume. The lock
is as good as the file system's `flock`: local disks, not every network share.

A journal that cannot record (disk full, read-only, I/O error) or cannot be read
(damaged, not a journal) raises `JournalError`, which stops the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import attrs
import orjson

from ..errors import JournalError, JournalLockedError, JournalMismatchError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

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
        self._lock: IO[str] | None = None
        self._commit_done: asyncio.Future[None] | None = None
        self._uncommitted = 0
        self._committed_at = time.monotonic()
        self._failure: JournalError | None = None
        #: Outcomes recorded after the last commit that a failed commit lost, or that
        #: came after it: sent, but not in the journal (a resume re-checks them).
        self.unrecorded = 0

    @property
    def failed(self) -> JournalError | None:
        """Why the journal stopped recording, if it did."""
        return self._failure

    def open(self, description: JobDescription, *, override: bool = False) -> None:
        """Open (or create) the journal for the job `description`.

        Raises JournalMismatchError if it was written for another target, account or job
        id, unless `override` (the journal then adopts this job).
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            message = f"cannot create the folder of the journal {self.path}: {error}"
            raise JournalError(message) from None
        self._lock = _lock(self.path)
        try:
            self._open(description, override)
        except BaseException:
            self._unlock()
            raise

    def _open(self, description: JobDescription, override: bool) -> None:
        if _is_json_lines(self.path):
            _migrate_json_lines(self.path)
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise _journal_error(self.path, error) from None
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
            db.execute("BEGIN")
        except sqlite3.Error as error:
            db.close()
            raise _journal_error(self.path, error) from None
        except BaseException:
            db.close()
            raise
        self._db = db

    def states_of(self, keys: list[str]) -> dict[str, str]:
        """What earlier runs recorded for each of `keys` that they saw."""
        db = self._connection()
        found: dict[str, str] = {}
        for start in range(0, len(keys), _LOOKUP_BATCH):
            batch = keys[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(batch))
            query = f"SELECT key, state FROM operations WHERE key IN ({marks})"
            with self._recording():
                found.update((str(key), str(state)) for key, state in db.execute(query, batch))
        return found

    async def started(self, key: str, index: int) -> None:
        """Record that an operation is about to be sent; returns once that is committed.

        Operations started in the same turn of the event loop share one commit. Raises
        JournalError, for every operation waiting on it, if the commit fails.
        """
        db = self._connection()
        with self._recording():
            db.execute(
                "INSERT INTO operations (key, idx, state) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET idx = excluded.idx, state = excluded.state",
                (key, index, STARTED),
            )
        if self._commit_done is None:
            loop = asyncio.get_running_loop()
            self._commit_done = loop.create_future()
            loop.call_soon(self._group_commit)
        await asyncio.shield(self._commit_done)

    def _group_commit(self) -> None:
        done, self._commit_done = self._commit_done, None
        try:
            if self._db is not None:
                self._commit()
        except JournalError as error:
            if done is not None and not done.done():
                done.set_exception(error)
                done.exception()  # every waiter raises it; none left means none lost
            return
        if done is not None and not done.done():
            done.set_result(None)

    def finished(self, key: str, index: int, outcome: str, detail: str | None = None) -> None:
        """Record an operation's outcome (committed in batches: a lost one is re-checked)."""
        if self._failure is not None:
            self.unrecorded += 1
            raise self._failure
        db = self._connection()
        self._uncommitted += 1
        with self._recording():
            db.execute(
                "INSERT INTO operations (key, idx, state, detail) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET idx = excluded.idx, state = excluded.state, "
                "detail = excluded.detail",
                (key, index, outcome, detail),
            )
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
        """Commit what is pending, close, and let another job open the journal. Raises
        JournalError if the last commit fails (the file is closed all the same)."""
        db = self._db
        try:
            if db is not None and self._failure is None:
                with self._recording():
                    db.execute("COMMIT")
        finally:
            self._db = None
            if db is not None:
                db.close()
            self._unlock()

    def _commit(self) -> None:
        db = self._connection()
        with self._recording():
            db.execute("COMMIT")
            db.execute("BEGIN")
        self._uncommitted = 0
        self._committed_at = time.monotonic()

    def _recording(self) -> _Recording:
        return _Recording(self)

    def _fail(self, error: sqlite3.Error) -> JournalError:
        """Stop recording for good after `error`: what was not committed is lost."""
        if self._failure is None:
            self.unrecorded += self._uncommitted
            self._uncommitted = 0
            self._failure = _journal_error(self.path, error)
            db = self._db
            if db is not None and db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
        return self._failure

    def _connection(self) -> sqlite3.Connection:
        if self._failure is not None:
            raise self._failure
        if self._db is None:
            raise RuntimeError("journal is not open")
        return self._db

    def _unlock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.close()  # closing the file releases the flock


class _Recording:
    """`with journal._recording():` turns an SQLite failure into the journal's failure."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, _traceback: object) -> None:
        if isinstance(error, sqlite3.Error):
            raise self._journal._fail(error) from None


def _lock(path: Path) -> IO[str] | None:
    """Hold `PATH.lock` exclusively for this process, or raise JournalLockedError."""
    if fcntl is None:
        return None
    lock_path = path.with_name(path.name + ".lock")
    try:
        lock = lock_path.open("a+", encoding="utf-8")
    except OSError as error:
        raise JournalError(f"cannot open the journal's lock file {lock_path}: {error}") from None
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip()[:200] or "another process"
        lock.close()
        raise JournalLockedError(
            f"the journal {path} is in use by {holder}: one job at a time may write it. "
            "Wait for that job to end, or give this one another journal."
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()} on host {socket.gethostname()}\n")
    lock.flush()
    return lock


def _journal_error(path: Path, error: sqlite3.Error) -> JournalError:
    """A JournalError saying what SQLite's `error` means for the journal at `path`."""
    name = getattr(error, "sqlite_errorname", "")
    if name == "SQLITE_FULL" or "disk is full" in str(error):
        why = "the disk is full"
    elif name.startswith("SQLITE_READONLY"):
        why = "the file or its folder is read-only"
    elif name.startswith("SQLITE_IOERR"):
        why = "an I/O error (a full disk, a file size limit or a failing device)"
    elif name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or type(error) is sqlite3.DatabaseError:
        return JournalError(
            f"the journal {path} is damaged or not a journal ({error}); nothing was sent. "
            "Keep it for inspection and start the job with another journal (items it had "
            "done are then checked against ButterCMS by --match-on, or created again)."
        )
    else:
        why = str(error)
    return JournalError(
        f"the journal {path} cannot record: {why} ({error}). The job stopped; free the "
        "disk or fix the file's permissions and run it again with the same journal: what "
        "was sent but not recorded is checked against ButterCMS before anything is resent."
    )


def read_journal(path: str | os.PathLike[str]) -> tuple[JobDescription | None, Counter[str]]:
    """A journal's job description and state counts, without opening it for a job (nor
    waiting for the job that has it open). Raises JournalError if it cannot be read."""
    try:
        db = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise _journal_error(Path(path), error) from None
    try:
        rows = db.execute("SELECT state, COUNT(*) FROM operations GROUP BY state")
        counts = Counter({str(state): int(n) for state, n in rows})
        return _description(db), counts
    except sqlite3.Error as error:
        raise _journal_error(Path(path), error) from None
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
    """Whether `path` is a journal of the JSON Lines format of earlier versions: its first
    line is an entry of one. A file that is neither that nor SQLite is refused, never
    converted: converting would replace a damaged journal with an empty one, and every
    operation would be sent again."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return False
        with path.open("rb") as head:
            if head.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC:
                return False
            head.seek(0)
            first = head.readline(1024 * 1024)
    except OSError as error:
        raise JournalError(f"cannot read the journal {path}: {error}") from None
    try:
        entry = orjson.loads(first)
    except orjson.JSONDecodeError:
        entry = None
    if isinstance(entry, dict) and isinstance(entry.get("key"), str):
        return True
    # a JournalMismatchError, as earlier versions raised for a file that is not a journal
    raise JournalMismatchError(
        f"the journal {path} is neither a journal of this version nor one of the JSON Lines "
        "format (its first bytes are not SQLite's, its first line no entry): it may be "
        "damaged or another file. Nothing was sent. Keep it for inspection and start the "
        "job with another journal."
    )


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
