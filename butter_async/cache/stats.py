"""What the read path saved and what went wrong, counted per client."""

from __future__ import annotations

import attrs


@attrs.define
class CacheStats:
    """What the read path saved: each hit, stale serve and coalesced caller is an API
    call not made. `backend_errors` are cache operations that failed (reads then go to
    ButterCMS), never a failed page view."""

    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    stale_served: int = 0
    stale_if_error: int = 0
    refreshes: int = 0
    refresh_failures: int = 0
    invalidations: int = 0
    backend_errors: int = 0
    #: Reads sent straight to ButterCMS while a failed store was being given time.
    bypassed: int = 0
    #: Entries that did not decode into what their read expects (cut short, not JSON,
    #: another read's body): each was treated as a miss and replaced.
    bad_entries: int = 0
    #: Entries dropped because ButterCMS answered 404, 401 or 403 for their read.
    dropped: int = 0
    #: Webhook invalidations folded into one already made for the same tags.
    invalidations_folded: int = 0

    @property
    def calls_saved(self) -> int:
        """API calls not made: hits, coalesced callers, and stale serves less the
        background refreshes they started."""
        return self.hits + self.coalesced + max(0, self.stale_served - self.refreshes)
