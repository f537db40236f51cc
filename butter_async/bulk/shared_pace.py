"""A pace shared through Redis by every process writing to one account.

K processes, each with its own bulk writer, take turns from one schedule: the pace (sends
a second, learned from the first 429 as one writer learns it alone), the pauses 429s ask
for and the next turn, in one Redis hash per account and API root, changed only by Lua
scripts, so every step is atomic and timed by Redis's own clock. Together the processes
send at the rate one would. Each still opens like a slow start and counts its own sends
in flight. If Redis fails, each process paces alone from then on (logged once); no write
fails for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from ..redis_client import check_redis_url, redacted_url, redis_client
from .pacing import STOP_CHECK_INTERVAL, AdaptiveGate

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

logger = logging.getLogger("butter_async")

#: State kept by the scripts (all times Redis's): `pace` (unset until learned), `tat` (when
#: the next turn may go), `window`, `first_send`, `learn_at` and `limited_at` (the 429 to
#: learn from), `lowered_at`, `quiet_since`/`quiet_turns` (the spell a raise is judged on)
#: and `turns`. Acceptances are a sorted set beside it, scored by time.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state, accepted, ttl = KEYS[1], KEYS[2], tonumber(ARGV[1])
local function get(field) return tonumber(redis.call('HGET', state, field)) end
local function set(field, value) redis.call('HSET', state, field, tostring(value)) end
local function pause_until(at)
  set('tat', math.max(get('tat') or 0, at))
  set('paused_until', math.max(get('paused_until') or 0, at))
end
local function accepted_between(since, till)
  local total = 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', accepted, '(' .. since, till)) do
    total = total + tonumber(string.match(member, ':(%d+)$'))
  end
  return total
end
"""

#: A turn: learn the pace once its 429's pause is over; then hand out evenly spaced turns,
#: raising the pace 1% after a quiet window whose turns kept to it. Returns {wait, pace,
#: final, paused}: a wait that is not final is a pause, after which the sender asks again
#: (so that a pause's end is paced, not a burst of every sender that waited); `paused` is
#: the part of the wait a 429 asked for (the rest is the queue for paced turns).
_TURN = (
    _PRELUDE
    + """
if not get('first_send') then set('first_send', now) end
local pace, tat = get('pace'), get('tat') or 0
local window = get('window') or 1
local learn_at = get('learn_at')
if not pace and learn_at and now >= learn_at then
  local limited_at = get('limited_at')
  local since, span = limited_at - window, window
  if window < 1 then since, span = limited_at - 1, 1 end
  local count = accepted_between(since, limited_at)
  redis.call('HDEL', state, 'learn_at')
  if count > 0 then
    pace = count / span
    if window < 1 then pace = math.min(pace, 1 / window) end
    set('pace', pace); set('quiet_since', now); set('quiet_turns', get('turns') or 0)
    set('lowered_at', now)
  end
end
local wait, final = 0, 1
if pace then
  local start = math.max(tat, now)
  set('tat', start + 1 / pace)
  local turns = (get('turns') or 0) + 1
  set('turns', turns)
  local quiet_since = get('quiet_since') or now
  local elapsed = now - quiet_since
  if elapsed >= window and turns - (get('quiet_turns') or 0) >= 0.9 * pace * elapsed then
    pace = pace * 1.01
    set('pace', pace); set('quiet_since', now); set('quiet_turns', turns)
  end
  wait = start - now
else
  wait = math.max(0, tat - now)
  if wait > 0 then final = 0 end
end
redis.call('PEXPIRE', state, ttl)
local paused = math.max(0, math.min(wait, (get('paused_until') or 0) - now))
return {tostring(wait), tostring(pace or -1), final, tostring(paused)}
"""
)

#: A 429 with `Retry-After` ARGV[2]: before the pace is known, pause everyone and learn at
#: the pause's end from a window the jobs span whole (from one younger, pace at what it
#: accepted of theirs until one is); after, lower the pace 1% a window (a window's 429)
#: or 2% a quarter window after a token's wait, pausing for it.
_LIMITED = (
    _PRELUDE
    + """
local wait = tonumber(ARGV[2])
local pace, tat = get('pace'), get('tat') or 0
local window = get('window') or 1
local lowered_at = get('lowered_at') or 0
local first_send = get('first_send') or now
if pace and get('provisional') and wait >= 1 and now - first_send >= window then
  -- paced at a first guess, and now a window wholly ours: what it held is the rate
  local count = accepted_between(now - window, now)
  redis.call('HDEL', state, 'provisional')
  if count > 0 then pace = count / window; set('pace', pace); set('lowered_at', now) end
  set('quiet_since', now); set('quiet_turns', get('turns') or 0)
elseif pace then
  if wait < window then
    pause_until(now + wait)
    if now - lowered_at >= 0.25 * window then set('pace', pace * 0.98); set('lowered_at', now) end
  elseif now - lowered_at >= window then
    set('pace', pace * 0.99); set('lowered_at', now)
  end
  set('quiet_since', now); set('quiet_turns', get('turns') or 0)
else
  pause_until(now + wait)
  if not get('learn_at') then
    window = math.max(1, wait)
    if wait < 1 then window = wait end
    set('window', window)
    if wait < 1 or now - first_send >= window then
      set('limited_at', now); set('learn_at', now + wait)
    else
      -- The window began before these jobs: what it accepted since their first send is
      -- what they may send a window at least (less, if others used it); pace at that
      -- until a window wholly theirs says more.
      local count = accepted_between(first_send - 0.001, now)
      if count > 0 then
        set('pace', count / window); set('provisional', 1); set('lowered_at', now)
        set('quiet_since', now + wait); set('quiet_turns', get('turns') or 0)
      end
    end
  end
end
redis.call('PEXPIRE', state, ttl)
return 1
"""
)

#: ARGV[2] acceptances by ARGV[3] (a process's counter), at Redis's time now.
_ACCEPTED = (
    _PRELUDE
    + """
redis.call('ZADD', accepted, now, ARGV[3] .. ':' .. ARGV[2])
redis.call('ZREMRANGEBYSCORE', accepted, '-inf', now - 10)
redis.call('PEXPIRE', accepted, ttl)
return 1
"""
)


#: Connections to Redis a job's gate uses at most.
_CONNECTIONS = 4


@attrs.define(kw_only=True)
class RedisPace:
    """Where bulk writers in several processes share one pace: `BulkWriter(...,
    shared_pace=RedisPace("redis://host:6379/0"))` in each. The state is keyed by the
    account's fingerprint and the API root (never a token) and expires `idle_expiry`
    seconds after the last write."""

    url: str = attrs.field(validator=check_redis_url, repr=redacted_url)
    prefix: str = "butter:pace:"
    socket_timeout: float = 0.5
    idle_expiry: float = 600.0

    def key(self, account: str, api_root: str) -> str:
        """The hash holding the pace of `account` at `api_root`."""
        root = hashlib.sha256(api_root.encode()).hexdigest()[:16]
        return f"{self.prefix}{account}:{root}"

    def gate(
        self, account: str, api_root: str, *, adaptive: bool, accepted: Callable[[], int]
    ) -> SharedGate:
        """The gate of one job, sharing its pace with every other job on the account."""
        return SharedGate(self, self.key(account, api_root), adaptive=adaptive, accepted=accepted)


class SharedGate:
    """A job's gate paced by the shared schedule; the same interface as `AdaptiveGate`,
    to which it falls back, alone, when Redis fails."""

    def __init__(
        self, pace: RedisPace, key: str, *, adaptive: bool, accepted: Callable[[], int]
    ) -> None:
        self._settings = pace
        self._keys = [key, key + ":accepted"]
        self._member = f"{os.getpid()}-{id(self):x}"
        self._adaptive = adaptive
        self._accepted = accepted
        self._counted = accepted()
        self._local = AdaptiveGate(adaptive=False, accepted=accepted)  # opening, in flight
        self._alone: AdaptiveGate | None = None
        self._redis: Redis | None = None
        # Turns take all the pool's connections but one, which the 429s and acceptances
        # (sent one at a time) always find free: a turn waits for a connection here, in
        # this process, where the pool's timeout cannot take the wait for Redis failing,
        # and a 429 reaches Redis at once, not behind a hundred turns.
        self._turns = asyncio.Semaphore(_CONNECTIONS - 1)
        self._scripts: dict[str, AsyncScript] = {}
        self._unsent = 0  # acceptances not yet told to Redis
        self._sent = 0
        self._updates: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        self._updater: asyncio.Task[None] | None = None
        self.paused = 0.0
        self._paused_until = 0.0
        self.pace: float | None = None
        """The shared pace as last seen (sends a second), once learned."""

    @property
    def in_flight(self) -> int:
        """Sends let through and not yet released."""
        return (self._alone or self._local).in_flight

    @property
    def waiting(self) -> int:
        """Sends held at the gate."""
        return (self._alone or self._local).waiting

    def admit(self) -> bool:
        """Only when pacing alone: every shared send takes a turn in `acquire()`."""
        return self._alone is not None and self._alone.admit()

    async def acquire(self, stopped: Callable[[], bool] = lambda: False) -> bool:
        """Wait for this process's opening, then for a turn of the shared schedule; False
        if `stopped()` first."""
        if self._alone is not None:
            return await self._alone.acquire(stopped)
        if not await self._local.acquire(stopped):
            return False
        self._local.waiting += 1
        try:
            final = False
            while not final:
                if self._alone is not None:  # Redis failed while this send waited
                    self._alone.in_flight += 1
                    return True
                try:
                    wait, pace, final, paused = await self._turn()
                except Exception as error:
                    self._fall_back(error)
                    continue
                self.pace = pace if pace > 0 else None
                self._count_pause(paused)
                while wait > 0:
                    if stopped():
                        self._local.release(succeeded=False)
                        return False
                    step = min(wait, STOP_CHECK_INTERVAL)
                    await asyncio.sleep(step)
                    wait -= step
        finally:
            self._local.waiting -= 1
        return True

    def _count_pause(self, wait: float) -> None:
        """Add to `paused` the part of a 429's pause not yet counted: every sender waiting
        out the same pause counts it once."""
        now = asyncio.get_running_loop().time()
        until = now + wait
        if until > self._paused_until:
            self.paused += until - max(self._paused_until, now)
            self._paused_until = until

    def release(self, *, succeeded: bool) -> None:
        """Count a send done; tell Redis what the server accepted meanwhile."""
        if self._alone is not None:
            self._alone.release(succeeded=succeeded)
            return
        self._local.release(succeeded=succeeded)
        total = self._accepted()
        fresh, self._counted = total - self._counted, total
        if fresh > 0:
            if not self._unsent:
                self._update("accepted", 0)
            self._unsent += fresh

    def rate_limited(self, retry_after: float | None) -> None:
        """The server answered 429: every process learns of it through Redis."""
        if self._alone is not None:
            self._alone.rate_limited(retry_after)
            return
        if retry_after == 0:
            return
        self._local.end_opening()
        self._update("limited", 1.0 if retry_after is None else retry_after)

    async def close(self) -> None:
        """Tell Redis what is left and let the connection go; cut short by a cancellation,
        it still stops its task."""
        updater = self._updater
        try:
            if updater is not None and self._alone is None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._updates.join(), self._settings.socket_timeout)
        finally:
            if updater is not None:
                updater.cancel()
                await asyncio.gather(updater, return_exceptions=True)
            redis, self._redis = self._redis, None
            if redis is not None:
                with contextlib.suppress(Exception):
                    await redis.aclose()

    def _update(self, kind: str, value: float) -> None:
        self._updates.put_nowait((kind, value))
        if self._updater is None:
            self._updater = asyncio.get_running_loop().create_task(self._send_updates())

    async def _send_updates(self) -> None:
        """Send 429s and acceptances to Redis in the order they came, one at a time."""
        while True:
            kind, value = await self._updates.get()
            try:
                if kind == "accepted":
                    count, self._unsent = self._unsent, 0
                    if count:
                        self._sent += 1  # a member of a sorted set is one entry: unique
                        await self._call("accepted", count, f"{self._member}-{self._sent}")
                else:
                    await self._call("limited", value)
            except Exception as error:
                self._fall_back(error)
                return
            finally:
                self._updates.task_done()

    async def _turn(self) -> tuple[float, float, bool, float]:
        """A turn of the shared schedule: (wait, pace or -1, final, paused part)."""
        async with self._turns:
            if self._alone is not None:  # Redis failed while this turn waited
                raise ConnectionError("the shared pace is no longer used")
            wait, pace, final, paused = await self._call("turn")
        return float(wait), float(pace), bool(int(final)), float(paused)

    async def _call(self, name: str, *args: Any) -> Any:
        if self._redis is None:
            self._redis = redis_client(
                self._settings.url,
                socket_timeout=self._settings.socket_timeout,
                connect_timeout=self._settings.socket_timeout,
                max_connections=_CONNECTIONS,
            )
            scripts = {"turn": _TURN, "limited": _LIMITED, "accepted": _ACCEPTED}
            self._scripts = {n: self._redis.register_script(s) for n, s in scripts.items()}
        ttl = int(self._settings.idle_expiry * 1000)
        return await self._scripts[name](keys=self._keys, args=[ttl, *args])

    def _fall_back(self, error: Exception) -> None:
        """Pace alone from now on: an adaptive gate of this process's own."""
        if self._alone is not None:
            return
        logger.warning(
            "the shared pace in Redis failed (%s); this job paces alone from now on",
            type(error).__name__,
        )
        alone = AdaptiveGate(adaptive=self._adaptive, accepted=self._accepted, opening=False)
        # Sends on the wire release into it; those waiting for a turn count themselves in.
        alone.in_flight = self._local.in_flight - self._local.waiting
        self._alone = alone
        self._local.end_opening()  # sends waiting for this process's opening go on alone
