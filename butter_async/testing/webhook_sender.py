"""The emulator's webhooks: POST the documented payload of every applied write to targets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

import aiohttp
import attrs
import orjson

from .store import Change

logger = logging.getLogger(__name__)

#: ButterCMS waits this long for a webhook answer and does not redeliver.
DELIVERY_TIMEOUT = 5.0


@attrs.frozen
class WebhookTarget:
    """Where to send which events: `events` are names such as `page.published`,
    the per-kind catch-alls `page.all` / `post.all` / `collectionitem.all`, or `*`;
    `headers` are the custom headers the dashboard lets you configure (e.g. a secret).
    """

    url: str
    events: tuple[str, ...] = ("*",)
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def wants(self, event: str) -> bool:
        """Whether this target subscribed to `event`."""
        kind = event.partition(".")[0]
        return any(name in ("*", event, f"{kind}.all") for name in self.events)


@attrs.frozen
class Delivery:
    """One webhook call the emulator made, for tests to inspect."""

    url: str
    event: str
    body: dict[str, object]
    status: int | None
    error: str | None = None


class WebhookSender:
    """Sends webhooks in background tasks so that a write never waits for its receiver."""

    def __init__(
        self, targets: Iterable[WebhookTarget] = (), *, timeout: float = DELIVERY_TIMEOUT
    ) -> None:
        self.targets: list[WebhookTarget] = list(targets)
        self.timeout = timeout
        """How long a target has to answer; a delivery still waiting then is recorded as
        timed out (ButterCMS waits 5 seconds and does not redeliver)."""
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def send(self, changes: Iterable[Change]) -> None:
        """Start delivering each change to every target that wants it."""
        for change in changes:
            for target in self.targets:
                if target.wants(change.event):
                    task = asyncio.get_running_loop().create_task(self._deliver(target, change))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def _deliver(self, target: WebhookTarget, change: Change) -> None:
        body: dict[str, object] = {
            "data": change.data,
            "webhook": {"event": change.event, "target": target.url},
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json", **target.headers}
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._session.post(
                    target.url, data=orjson.dumps(body), headers=headers
                )
            # The status is all ButterCMS reads: the body, however large, is never read.
            response.close()
            delivery = Delivery(target.url, change.event, body, response.status)
        except (aiohttp.ClientError, TimeoutError) as error:
            # ButterCMS does not retry a failed delivery; neither do we.
            delivery = Delivery(target.url, change.event, body, None, type(error).__name__)
            logger.warning("webhook %s to %s failed: %r", change.event, target.url, error)
        self.deliveries.append(delivery)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the deliveries under way, each of which ends (answered, failed or timed
        out) within the delivery timeout; `timeout` bounds the wait otherwise."""
        limit = self.timeout + 1.0 if timeout is None else timeout
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=limit)

    async def close(self) -> None:
        """Finish or cancel the deliveries under way and close the HTTP session."""
        await self.drain()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
