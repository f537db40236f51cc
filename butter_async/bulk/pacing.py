"""The bulk writer's gate: sends paused by 429s and paced at a rate learned from them.

A job opens like a slow start (one send alone, one more in flight per success) until its
first 429. That 429 pauses every send for its `Retry-After` (the window, when it is a
second or more). When the pause ends, the rate the server accepted before the 429 (every
request it accepted; for a window, only one the job ran through whole) becomes the pace,
and sends are spaced evenly at it from then on: a sliding-window limit is then met almost
exactly instead of being overrun and waited out.

A later 429 lowers the pace a little without pausing everyone: one naming a window by 1%,
at most once a window (until then the server still counts sends made before the step);
one naming a token's wait by 2%, after pausing for it. While the server refuses a fifth
or more of the sends (a twentieth under a window), the pace drops to the rate it accepts
at. A window with no change and no window's 429 raises it by 1%, if its sends kept to
the pace (a job sending slower shows nothing about the limit). Pauses and their total,
`paused`, are kept, which a job may cap. With `adaptive=False` there is no pacing: 429s
only pause.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

import attrs

from .turns import Turns

STOP_CHECK_INTERVAL = 0.25
"""Longest sleep between checks of a job's `stopped()` while waiting at the gate."""

PACE_DECREASE = 0.98
"""The pace after a 429 naming a token's wait: a limit is met by a small step, not a
halving."""
WINDOW_PACE_DECREASE = 0.99
"""The pace after a 429 naming a whole window (a sliding-window limit)."""
OPENING_LIMIT = 1024
"""A job opens like a slow start: one send alone, one more in flight for each success
(doubling every round trip), up to this many, where the opening ends."""
NO_RETRY_AFTER_PAUSE = 1.0
"""Seconds to pause on a 429 that names no Retry-After."""
PACE_INCREASE = 1.01
"""The pace after a quiet spell (a window without a 429), probing for a raised limit."""
PACE_BOUND_SHARE = 0.9
"""Least share of its pace a quiet spell must have sent at to raise it: a job sending
slower (a slow source, a busy host) shows nothing about the limit, and a pace raised
through it would be far above the limit once the job sped up again."""
DECREASE_INTERVAL = 0.25
"""Least time, in windows, from a change of the pace to a decrease after a token's wait.
After a window's 429 it is a whole window from the last decrease: until then, the
server's count still holds sends made at the pace before it."""
SATURATION_EVIDENCE = 5
"""Fewest acceptances among refusals to read a saturated server's rate from."""
SATURATED_ONE_IN = 5
"""A server refusing one send in this many, or more, is saturated: what it accepts comes
at its limit."""
WINDOW_SATURATED_ONE_IN = 20
"""The same for a sliding window's 429s, which otherwise step the pace only 1% a window:
a limit that drops by a twentieth or more is followed once a whole window shows it."""


@attrs.define
class _Span:
    """Counts at the start of a measured span, and when in it the first acceptance came."""

    start: float
    accepted: int
    refused: int
    first_accept: float | None = None


class AcceptanceMeter:
    """What a server accepted and refused while paced, over the last one to two windows."""

    def __init__(self) -> None:
        self.accepted = 0
        self.refused = 0
        self._last_accept = 0.0
        self._span: _Span | None = None
        self._previous: _Span | None = None

    def count(self, now: float, window: float, *, accepted: bool, answers: int = 1) -> None:
        """Count `answers` answers, starting a new span (with them) every `window` seconds."""
        span = self._span
        if span is None or now - span.start >= window:
            self._previous, span = span, _Span(now, self.accepted, self.refused)
            self._span = span
        if accepted:
            self.accepted += answers
            self._last_accept = now
            if span.first_accept is None:
                span.first_accept = now
        else:
            self.refused += 1

    def restart(self) -> None:
        """Forget the spans: a pause is no evidence of a rate."""
        self._span = self._previous = None

    def saturated_rate(self, one_in: int = SATURATED_ONE_IN) -> float | None:
        """The rate the server accepts at, when it refuses one send in `one_in` or more (it
        is then saturated and its acceptances come at its limit); else None."""
        span = self._previous or self._span
        if span is None or span.first_accept is None:
            return None
        accepted = self.accepted - span.accepted
        refused = self.refused - span.refused
        if accepted < SATURATION_EVIDENCE or refused * one_in < accepted + refused:
            return None
        return (accepted - 1) / max(self._last_accept - span.first_accept, 1e-3)


class AdaptiveGate:
    """Holds sends through 429 pauses, learns a server's rate limit and paces them at it
    (see the module's docstring). It counts the sends in flight; how many there are at
    most is the job's number of workers, each sending one operation at a time."""

    def __init__(
        self,
        *,
        adaptive: bool = True,
        clock: Callable[[], float] | None = None,
        accepted: Callable[[], int] | None = None,
        opening: bool = True,
    ) -> None:
        """`clock`: the time the pace is kept in (the running loop's by default).
        `accepted`: the requests the server accepted (answered other than 429), all told,
        which the pace is learned from (by default, the sends). With `opening` the first
        send goes alone and each success lets one more in flight, so a wrong token or a
        missing page type costs one request, not one per worker."""
        self.adaptive = adaptive
        self.in_flight = 0
        """Sends let through and not yet released (waiting for their turn included)."""
        self.waiting = 0
        """Sends held at the gate: by a pause, the opening, or for their paced turn."""
        self._allowed: int | None = 1 if opening else None  # in flight while opening
        self._widened = asyncio.Event()
        self.paused = 0.0
        self.pace: float | None = None
        """Sends per second once learned from a 429 (None: unpaced)."""
        self._resume_at = 0.0
        self._window = 1.0
        self._turns = Turns()
        self._last_change = 0.0
        self._lowered_at = 0.0  # when the pace last went down
        self._quiet_since = 0.0
        self._quiet_tickets = 0
        """When the current quiet spell began (the pace's last change, or the last
        window's 429), and the turns taken by then."""
        self._own_accepted = 0
        self._accepted = accepted or (lambda: self._own_accepted)
        self._counted = 0  # accepted requests the meter has counted
        self._learner = RateLearner(self._accepted)
        self._meter = AcceptanceMeter()
        self._clock = clock
        self._first_send: float | None = None
        """When this job's first send went: a server window older than that also holds
        sends the job did not make (an interrupted run of it, another job)."""

    def _now(self) -> float:
        """The gate's clock (the loop's, looked up once: on 3.11 each look-up is a syscall)."""
        if self._clock is None:
            self._clock = asyncio.get_running_loop().time
        return self._clock()

    def admit(self) -> bool:
        """Let a send through at once when no pause or pace holds it; False when it must
        wait in `acquire()`."""
        if self.pace is not None or self._learner.learn_at is not None:
            return False
        if self._allowed is not None and self.in_flight >= self._allowed:
            return False
        if self._first_send is None:
            self._first_send = self._now()
        elif self._resume_at and self._now() < self._resume_at:
            return False
        self.in_flight += 1
        return True

    async def acquire(self, stopped: Callable[[], bool] = lambda: False) -> bool:
        """Wait for any pause and the pace; False if `stopped()` first.

        Waits are taken in short steps, so a job that stops (a closed client, a spent
        budget) is noticed within a quarter of a second.
        """
        self.waiting += 1
        try:
            while True:
                if stopped():
                    return False
                now = self._now()
                if now < self._resume_at:
                    await asyncio.sleep(min(self._resume_at - now, STOP_CHECK_INTERVAL))
                elif self._allowed is not None and self.in_flight >= self._allowed:
                    self._widened.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._widened.wait(), STOP_CHECK_INTERVAL)
                else:
                    break
        finally:
            self.waiting -= 1
        learn_at = self._learner.learn_at
        if learn_at is not None and now >= learn_at:
            self._learn(now)
        if self._first_send is None:
            self._first_send = now
        self.in_flight += 1
        if self.pace is None:
            return True
        try:
            return await self._wait_for_turn(stopped)
        except BaseException:
            self.release(succeeded=False)
            raise

    async def _wait_for_turn(self, stopped: Callable[[], bool]) -> bool:
        """Sleep until this send's evenly spaced turn, however the pace and pauses move it."""
        assert self.pace is not None
        now = self._now()
        turns = self._turns
        if turns.at(turns.taken, self.pace) < now:  # nobody waiting: no catching up on idle
            turns.reanchor(now, now, self.pace)
        ticket = turns.taken
        turns.taken += 1
        self.waiting += 1
        try:
            while (wait := turns.at(ticket, self.pace) - self._now()) > 0:
                if stopped():
                    self.release(succeeded=False)
                    return False
                await asyncio.sleep(min(wait, STOP_CHECK_INTERVAL))
        finally:
            self.waiting -= 1
            turns.gone += 1
        return True

    def end_opening(self) -> None:
        """Let as many sends in flight as ask (the server bounds the job now)."""
        if self._allowed is not None:
            self._allowed = None
            self._widened.set()

    def release(self, *, succeeded: bool) -> None:
        """Count a send done, and sample what the server accepted: the pace is learned
        from it."""
        self.in_flight -= 1
        if self._allowed is not None:
            if succeeded:
                self._allowed = self._allowed + 1 if self._allowed < OPENING_LIMIT else None
            self._widened.set()
        if not self.adaptive:
            return
        now = self._now()
        self._own_accepted += succeeded
        if self.pace is None:  # still to be learned: sample what the server accepted
            self._learner.sample(now, self._window)
            return
        total = self._accepted()
        answers, self._counted = total - self._counted, total
        if answers > 0:
            self._meter.count(now, self._window, accepted=True, answers=answers)
        if succeeded and now - self._quiet_since >= self._window:
            self._probe(now)

    def rate_limited(self, retry_after: float | None) -> None:
        """The server answered 429: pause for `retry_after`, or slow the pace a little."""
        if retry_after == 0:
            return  # "retry at once": no pause asked for, nothing to learn a rate from
        self.end_opening()  # the server bounds the job now
        now = self._now()
        wait = NO_RETRY_AFTER_PAUSE if retry_after is None else retry_after
        if self.pace is not None and wait <= 2 * self._window:
            # Pacing already: refused requests come back through the gate and everyone
            # goes on slower, down to what the server was seen to accept.
            self._meter.count(now, self._window, accepted=False)
            if wait < self._window:  # a token's wait: no send can pass before it
                self._pause_until(now + wait, now)
                lowered = self.pace * PACE_DECREASE
                settled = now - self._last_change >= DECREASE_INTERVAL * self._window
                saturated_rate = self._meter.saturated_rate()
            else:
                self._start_quiet_spell(now)
                lowered = self.pace * WINDOW_PACE_DECREASE
                settled = now - self._lowered_at >= self._window
                saturated_rate = self._meter.saturated_rate(WINDOW_SATURATED_ONE_IN)
            if saturated_rate is not None and saturated_rate < lowered:
                self._set_pace(saturated_rate, now)
                self._lowered_at = now
            elif settled:
                self._set_pace(lowered, now)
                self._lowered_at = now
            return
        self._meter.restart()
        learner = self._learner
        if self.pace is None and self.adaptive:
            learner.sample(now, self._window)
        resume_at = now + wait
        self._pause_until(resume_at, now)
        if self.pace is None:
            learner.longest_wait = max(learner.longest_wait, wait)
        if self.adaptive and self.pace is None and learner.learn_at is None:
            self._window = max(1.0, wait)
            first_send = now if self._first_send is None else self._first_send
            if wait >= 1 and now - first_send < self._window:
                # The server's window began before this job: what it accepted of the job's
                # sends is what others left, not its rate. Learn at a 429 whose window the
                # job spans whole.
                return
            learner.expect(now, resume_at)

    def _set_pace(self, pace: float, now: float) -> None:
        """Pace the turns not yet come at `pace` from now on."""
        self._turns.reanchor(now, now, self.pace)
        self.pace = pace
        self._last_change = now
        self._start_quiet_spell(now)

    def _start_quiet_spell(self, now: float) -> None:
        """Measure the sends from `now` for the next raise of the pace."""
        self._quiet_since, self._quiet_tickets = now, self._turns.taken

    def _probe(self, now: float) -> None:
        """After a quiet spell, raise the pace 1% if the sends kept to it; else measure
        the next spell."""
        assert self.pace is not None
        sent = self._turns.taken - self._quiet_tickets
        if sent >= PACE_BOUND_SHARE * self.pace * (now - self._quiet_since):
            self._set_pace(self.pace * PACE_INCREASE, now)
        else:
            self._start_quiet_spell(now)

    def _pause_until(self, resume_at: float, now: float) -> None:
        """Hold every send, paced turns already taken too, until `resume_at`, adding the
        extra wait to `paused`."""
        if resume_at > self._resume_at:
            self.paused += resume_at - max(self._resume_at, now)
            self._resume_at = resume_at
            self._turns.reanchor(now, resume_at, self.pace)

    def _learn(self, now: float) -> None:
        """Take the rate the server accepted up to the first 429 as the pace."""
        pace = self._learner.learn(now, self._window)
        self._counted = self._accepted()
        if pace is not None:
            self._turns.restart(now)
            self._set_pace(pace, now)


class RateLearner:
    """The rate a server accepted up to a job's first 429, learned from samples of how
    many requests it had accepted; it becomes the gate's pace when that 429's pause ends."""

    def __init__(self, accepted: Callable[[], int]) -> None:
        self._accepted = accepted
        self.learn_at: float | None = None
        """When the rate is to be learned (the first 429's pause ends); None: not yet."""
        self.limited_at = 0.0
        """When the 429 to learn from came."""
        self.longest_wait = 0.0
        self._samples: deque[tuple[float, int]] = deque()
        """(when, requests the server had accepted by then), sampled at each answer."""

    def sample(self, now: float, window: float) -> None:
        """Note how many requests the server had accepted by `now`."""
        samples = self._samples
        samples.append((now, self._accepted()))
        # Keep three windows, and while a pace is to be learned, the window before its 429.
        keep_from = now - 3 * window
        if self.learn_at is not None:
            keep_from = min(keep_from, self.limited_at - window)
        while samples[0][0] < keep_from:
            samples.popleft()

    def expect(self, limited_at: float, learn_at: float) -> None:
        """Learn at `learn_at` from what was accepted up to the 429 of `limited_at`."""
        self.limited_at, self.learn_at = limited_at, learn_at

    def learn(self, now: float, window: float) -> float | None:
        """The rate the server accepted up to the 429 (None if it accepted nothing).

        A whole-second Retry-After names the server's window: what it accepted in one
        window is its rate. A shorter one is a token's wait: the rate is what it accepted
        over the last second, or since its first success if sooner, and no more than one
        per the longest wait named (a burst allowance may still make it too high; later
        429s measure it down).
        """
        assert self.learn_at is not None
        token_wait = self.learn_at - self.limited_at < 1
        first = self._samples[0][0] if self._samples else now
        if token_wait:
            since = max(self.limited_at - 1.0, first)
            span = max(self.learn_at - since, 1e-3)
        else:
            since, span = self.limited_at - window, window
        # A token's wait counts what came after the first success (one success is no
        # rate); a window counts all it held up to its 429 (after it, reads retried inside
        # the client may be accepted as the window slides).
        until = now if token_wait else self.limited_at
        accepted = self._accepted_between(since, until, inclusive=not token_wait)
        longest_wait, self.longest_wait, self.learn_at = self.longest_wait, 0.0, None
        if not accepted:
            return None
        pace = accepted / span
        return min(pace, 1 / longest_wait) if token_wait else pace

    def _accepted_between(self, since: float, until: float, *, inclusive: bool) -> int:
        """Requests the server accepted from `since` (after it, unless `inclusive`) to
        `until`, as far as the samples tell."""
        samples = self._samples
        if not samples:
            return 0
        before = [
            total for stamp, total in samples if stamp < since or (stamp == since and not inclusive)
        ]
        # With no sample before `since`, count from the first one (itself included).
        base = before[-1] if before else samples[0][1] - 1
        upto = [total for stamp, total in samples if stamp <= until]
        return (upto[-1] if upto else base) - base
