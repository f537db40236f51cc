"""How a bulk job sends one input: through the gate and the limiter, as many rounds as
429s allow, each failure turned into the input's result."""

from __future__ import annotations

from aiolimiter import AsyncLimiter

from ..errors import (
    AuthenticationError,
    BadRequestError,
    ButterError,
    ClientClosedError,
    JournalError,
    PermissionDeniedError,
    RateLimitError,
)
from ..operations import Operation
from ..writes import WriteCall, WriteResult
from .client import BulkClient
from .ledger import Ledger
from .options import BulkSettings
from .pacing import AdaptiveGate
from .results import BulkResult, failed_result, result_of
from .shared_pace import SharedGate

RATE_LIMITED_ROUNDS = 3
"""Rounds through the gate a refused (429) item gets beyond its client's retries."""


class Sender:
    """Sends a job's writes: paced by the gate (learned from 429s) and the fixed
    `rate_limit`, and stopped once the client closes, auth fails or 429s win."""

    def __init__(self, client: BulkClient, settings: BulkSettings, ledger: Ledger) -> None:
        self.client = client
        self.settings = settings
        self.ledger = ledger
        self.report = ledger.report
        stats = client.stats
        self.gate: AdaptiveGate | SharedGate
        if settings.shared_pace is not None:
            self.gate = settings.shared_pace.gate(
                client.account_fingerprint,
                str(client.base_url),
                adaptive=settings.adaptive,
                accepted=lambda: stats.accepted,
            )
        else:
            self.gate = AdaptiveGate(adaptive=settings.adaptive, accepted=lambda: stats.accepted)
        self.limiter = AsyncLimiter(settings.rate_limit, 1) if settings.rate_limit else None
        self.limited = 0
        """Sends past the gate waiting for the fixed `rate_limit`."""
        self.requeued = 0
        self.rate_limit_error: RateLimitError | None = None
        self.missing_schemas: dict[tuple[str, str], str] = {}

    def missing_schema(self, operation: Operation) -> str | None:
        """Why the API refused the page type or collection `operation` writes to, if it
        said that it does not exist (no need to ask again)."""
        if not self.missing_schemas:
            return None
        return self.missing_schemas.get(_schema_of(operation) or ("", ""))

    async def close(self) -> None:
        """Let the shared pace's connection go, if the job has one."""
        if isinstance(self.gate, SharedGate):
            await self.gate.close()

    def halted(self) -> bool:
        """Whether nothing more may be sent: the client closed, auth failed, 429s won."""
        return (
            self.client.closed
            or self.rate_limit_error is not None
            or self.report.stopped_by is not None
        )

    async def send(
        self, index: int, operation: Operation, key: str, call: WriteCall, check_first: bool
    ) -> BulkResult | WriteResult:
        """Send an operation's checked write through the gate and the limiter, for as many
        rounds as 429s allow: the write made, or the result of an operation that was not."""
        round_ = 0
        journal = self.ledger.journal
        while True:
            if not self.gate.admit() and not await self.gate.acquire(self.halted):
                return self.halted_result(index, operation, key)
            succeeded = False
            try:
                if self.limiter is not None:
                    self.limited += 1
                    try:
                        await self.limiter.acquire()
                    finally:
                        self.limited -= 1
                if self.halted():
                    return self.halted_result(index, operation, key)
                if journal and round_ == 0:
                    await journal.started(key, index)
                self.ledger.executing.add(index)  # from here it may be applied
                write = await self.client.send(call, check_first=check_first, on_rate_limit="raise")
                succeeded = True
                return write
            except RateLimitError as error:
                self.ledger.executing.discard(index)  # refused, so not applied: it waits
                if not self.requeue(error, round_):
                    return failed_result(index, operation, key, error)
                # A create escapes with a 429 only before any ambiguous attempt (after one
                # it rides 429s out in the call), so the next round sends at once.
                round_ += 1
                self.requeued += 1
            except JournalError:
                raise  # the job cannot go on without a record of what it sends
            except ClientClosedError as error:
                # The request may have reached the server before the client closed.
                detail = str(error)
                return result_of(index, operation, key, "interrupted", detail=detail, error=error)
            except (AuthenticationError, PermissionDeniedError) as error:
                # Every other write would be refused the same way: stop the job.
                if self.report.stopped_by is None:
                    self.report.stopped_by = f"{error.status}: {error.detail}"
                return failed_result(index, operation, key, error)
            except BadRequestError as error:
                schema = _schema_of(operation)
                if schema is not None and _names_missing_schema(error, schema):
                    self.missing_schemas[schema] = f"{schema[0]} {schema[1]!r}: {error.detail}"
                return failed_result(index, operation, key, error)
            except (ButterError, ValueError, TypeError) as error:
                return failed_result(index, operation, key, error)
            finally:
                self.gate.release(succeeded=succeeded)

    def requeue(self, error: RateLimitError, round_: int) -> bool:
        """Whether a refused (429) item goes back through the gate for another round.

        As many rounds as the client's retry policy allows retries, plus
        `RATE_LIMITED_ROUNDS`, unless the quota is spent (a Retry-After beyond its cap)
        or the job's rate-limit budget is.
        """
        spent_quota = self.client.retry.too_long_to_wait(error.retry_after)
        budget_spent = self.rate_limit_error is not None
        rounds = self.client.retry.max_retries + RATE_LIMITED_ROUNDS
        return not spent_quota and not budget_spent and round_ + 1 < rounds

    def halted_result(self, index: int, operation: Operation, key: str) -> BulkResult:
        """The result of an input the job will not send: closed, refused, or 429s won."""
        if self.client.closed:
            return result_of(index, operation, key, "not_attempted", detail="client closed")
        if self.report.stopped_by is not None:
            detail = f"job stopped: {self.report.stopped_by}"
            return result_of(index, operation, key, "not_attempted", detail=detail)
        error = self.rate_limit_error
        assert error is not None
        return failed_result(index, operation, key, error)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """The client met a 429: count it and lower the concurrency."""
        self.report.rate_limited += 1
        if self.client.retry.too_long_to_wait(retry_after):
            return  # a spent quota: the requests fail with RateLimitError, nobody waits days
        self.gate.rate_limited(retry_after)
        budget = self.settings.max_rate_limit_wait
        if budget is not None and self.gate.paused > budget and self.rate_limit_error is None:
            self.rate_limit_error = RateLimitError(
                status=429,
                detail=(
                    f"the job waited out 429s for {self.gate.paused:.0f} s in all, over "
                    f"max_rate_limit_wait={budget:g} s; the remaining inputs were not sent"
                ),
                method="POST",
                url="bulk job",
                retry_after=retry_after,
            )


def _schema_of(operation: object) -> tuple[str, str] | None:
    """The page type or collection an operation writes to, when it names one."""
    page_type = getattr(operation, "page_type", None)
    if isinstance(page_type, str) and page_type != "*":
        return ("page type", page_type)
    collection = getattr(operation, "collection", None)
    return ("collection", collection) if isinstance(collection, str) else None


def _names_missing_schema(error: BadRequestError, schema: tuple[str, str]) -> bool:
    """Whether a 400 says the page type or collection itself does not exist."""
    field = "page_type" if schema[0] == "page type" else "key"
    messages = " ".join(error.field_errors.get(field, [])).lower()
    return "not exist" in messages or "not found" in messages or "unknown" in messages
