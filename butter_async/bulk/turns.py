"""The paced sends' evenly spaced turns, which pauses and pace changes move together."""

from __future__ import annotations


class Turns:
    """Turn k comes at `anchor_time + (k - anchor_ticket) / pace`; pauses and pace changes
    move the anchor, so turns already taken move with them."""

    def __init__(self) -> None:
        self.taken = 0
        """Turns handed out so far (the next send's ticket)."""
        self.gone = 0
        """Of those, the ones whose send went on at its turn (or stopped)."""
        self._anchor_ticket = 0.0
        self._anchor_time = 0.0

    def at(self, ticket: int, pace: float) -> float:
        """When the send holding `ticket` may go."""
        return self._anchor_time + (ticket - self._anchor_ticket) / pace

    def restart(self, now: float) -> None:
        """The next turn comes now (a pace just learned)."""
        self._anchor_ticket, self._anchor_time = self.taken, now

    def reanchor(self, now: float, start: float, pace: float | None) -> None:
        """Hold the turns not yet come from `now` until `start` (a pause, or none when
        `start` is `now`), so that the pace from here applies to every one of them. A
        pause holds the turns that came but whose sends have not gone (a busy loop)."""
        if pace is not None and now > self._anchor_time:
            due = self._anchor_ticket + (now - self._anchor_time) * pace
            if start > now:
                due = min(due, self.gone)
            self._anchor_ticket, self._anchor_time = min(due, self.taken), now
        self._anchor_time = max(self._anchor_time, start)
