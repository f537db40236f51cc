"""When a job stops sending: too many failures, or a run of inputs refused alike."""

from __future__ import annotations

from ..errors import APIError, RateLimitError
from .options import BulkSettings
from .results import BulkReport, BulkResult


class Stops:
    """Counts failures as results settle; `stopping` once a limit is reached."""

    def __init__(self, settings: BulkSettings, report: BulkReport) -> None:
        self.settings = settings
        self.report = report
        self.stopping = False
        self.failures = 0
        self.alike = 0
        """Inputs in a row the API refused with `last_refusal`."""
        self.last_refusal = ""

    def note(self, result: BulkResult) -> None:
        """Count a settled result; stop after too many failures, or after a run of inputs
        the API refused alike."""
        if result.outcome == "failed":
            self.failures += 1
            limit = self.settings.failure_limit
            if limit is not None and self.failures >= limit:
                self.stopping = True
            self._note_refusal(result)
        elif result.outcome not in ("skipped", "not_attempted", "interrupted"):
            self.alike = 0

    def _note_refusal(self, result: BulkResult) -> None:
        """Count inputs in a row that the API refused with the same error; at
        `max_identical_failures` the job stops, naming the error."""
        error = result.error
        if not isinstance(error, APIError) or not 400 <= error.status < 500:
            return  # not sent (refused here, at no cost), or a server's passing failure
        if isinstance(error, RateLimitError):
            return  # the pace and `max_rate_limit_wait` answer 429s
        refusal = f"{error.status}: {error.detail}"
        self.alike = self.alike + 1 if refusal == self.last_refusal else 1
        self.last_refusal = refusal
        limit = self.settings.max_identical_failures
        if limit is not None and self.alike >= limit and self.report.stopped_by is None:
            self.stopping = True
            self.report.stopped_by = (
                f"{self.alike} inputs in a row refused alike ({refusal[:300]}); the rest "
                "were not sent"
            )
