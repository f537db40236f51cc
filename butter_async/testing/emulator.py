"""Emulator: the ButterCMS API served from memory on 127.0.0.1 over real TCP."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from ..client import ButterClient
from ..heap import keep_socket_reads_on_heap
from .app import build_app
from .faults import Fault, FaultPlan, Latency, RateLimitKind
from .seed import SeedSpec, seeded_store
from .state import EmulatorState, RequestRecord
from .store import CollectionSchema, ContentStore, PageType, SchemaFields
from .webhook_sender import Delivery, WebhookTarget

#: The tokens `butter-async emulator` serves with unless told otherwise.
DEFAULT_READ_TOKEN = "emulator-read-token"
DEFAULT_WRITE_TOKEN = "emulator-write-token"


class Emulator:
    """A running emulated ButterCMS account: `async with Emulator() as emu: emu.url ...`.

    The store is seeded with the objects of the real recorded responses plus what
    `seed` asks for; `page_types` and `collections` declare your own schemas
    (`{"recipe": {"title": "text", "hero": "media"}}`, or a list of field keys for
    all-text fields). `webhooks` are the targets that receive the documented webhook of
    every applied write. Knobs (latency, or `jittered(0.05, 0.04)` for a spread;
    per-second `rate_limit` as a token bucket or, with `rate_limit_kind="window"`, a
    sliding one-second window; monthly `quota`; faults; processing delay) can be changed
    while it runs through `emu.state`.
    """

    def __init__(
        self,
        *,
        seed: SeedSpec | None = None,
        store: ContentStore | None = None,
        page_types: Mapping[str, SchemaFields] | None = None,
        collections: Mapping[str, SchemaFields] | None = None,
        webhooks: list[WebhookTarget] | None = None,
        locales: tuple[str, ...] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        read_token: str | None = None,
        write_token: str | None = None,
        latency: Latency = 0.0,
        write_latency: Latency | None = None,
        rate_limit: float | None = None,
        rate_limit_kind: RateLimitKind = "bucket",
        quota: int | None = None,
        processing_delay: float = 0.0,
        faults: list[Fault] | None = None,
        fault_seed: int = 0,
        fractional_retry_after: bool = False,
        redirect_base: str | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.store = store if store is not None else seeded_store(seed, locales=locales)
        for slug, fields in (page_types or {}).items():
            self.store.define_page_type(slug, fields)
        for key, fields in (collections or {}).items():
            self.store.define_collection(key, fields)
        self.read_token = read_token or f"emu-read-{secrets.token_hex(8)}"
        self.write_token = write_token or f"emu-write-{secrets.token_hex(8)}"
        self.state = EmulatorState(
            self.store,
            read_token=self.read_token,
            write_token=self.write_token,
            latency=latency,
            write_latency=write_latency,
            rate_limit=rate_limit,
            rate_limit_kind=rate_limit_kind,
            quota=quota,
            processing_delay=processing_delay,
            faults=FaultPlan(faults, seed=fault_seed),
            fractional_retry_after=fractional_retry_after,
            redirect_base=redirect_base,
            webhooks=webhooks,
        )
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        return f"<Emulator url={self.url if self._runner else 'not started'!r}>"

    @property
    def port(self) -> int:
        """The TCP port it listens on (known once started)."""
        return self._port

    @property
    def origin(self) -> str:
        """`http://host:port`."""
        return f"http://{self.host}:{self._port}"

    @property
    def url(self) -> str:
        """The API root to give `ButterClient(base_url=...)`."""
        return f"{self.origin}/v2/"

    @property
    def faults(self) -> FaultPlan:
        """The fault plan; add faults while running."""
        return self.state.faults

    @property
    def requests(self) -> list[RequestRecord]:
        """The requests served so far, oldest first (a long run keeps the latest 100,000+)."""
        return self.state.requests

    @property
    def webhook_deliveries(self) -> list[Delivery]:
        """The webhook calls made so far, oldest first, with the status each got."""
        return self.state.webhooks.deliveries

    def define_page_type(self, slug: str, fields: SchemaFields) -> PageType:
        """Declare a page type: a list of field keys (text) or a mapping key -> kind.

        Kinds: text, number, media, reference, repeater, component, component_picker.
        """
        return self.store.define_page_type(slug, fields)

    def define_collection(self, key: str, fields: SchemaFields) -> CollectionSchema:
        """Declare a collection: a list of field keys (text) or a mapping key -> kind."""
        return self.store.define_collection(key, fields)

    def localize_post(self, slug: str, locale: str, **fields: str) -> None:
        """Translate the post `slug` into `locale` (`title`, `body`, `summary`,
        `seo_title`, `meta_description`, ...), as an editor does in the dashboard: reads
        with `locale=` then show the translation. The emulator needs `locales=`."""
        self.store.localize_post(slug, locale, fields)

    def add_webhook(
        self,
        url: str,
        *,
        events: tuple[str, ...] = ("*",),
        headers: Mapping[str, str] | None = None,
    ) -> WebhookTarget:
        """Send the documented webhook of every applied write matching `events` to `url`."""
        target = WebhookTarget(url, events, dict(headers or {}))
        self.state.webhooks.targets.append(target)
        return target

    async def drain_webhooks(self, timeout: float | None = None) -> None:
        """Wait until the webhooks under way have been delivered, failed or timed out
        (`timeout` bounds the wait; by default the delivery timeout and a second)."""
        await self.state.webhooks.drain(timeout)

    def client(self, *, write: bool = True, **options: Any) -> ButterClient:
        """A ButterClient pointed at this emulator with its tokens."""
        return ButterClient(
            self.read_token,
            self.write_token if write else None,
            base_url=self.url,
            **options,
        )

    async def start(self) -> None:
        """Bind the port and start serving."""
        if self._runner is not None:
            return
        keep_socket_reads_on_heap()  # the server reads every request as a client does
        runner = web.AppRunner(build_app(self.state), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._port))
            self._port = sock.getsockname()[1]
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner

    async def close(self) -> None:
        """Stop serving; pending writes are applied first so the store is final."""
        self.state.flush_pending()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self.state.webhooks.close()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


@contextlib.contextmanager
def emulator_in_thread(**options: Any) -> Iterator[Emulator]:
    """A running Emulator served from a background thread, for synchronous code and tests.

    Options are those of `Emulator`. Touch `emu.store` and `emu.state` only while no
    request is in flight: they belong to the emulator's thread.
    """
    emulator = Emulator(**options)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        try:
            async with emulator:
                started.set()
                await stop.wait()
        except BaseException as error:
            failure.append(error)
            started.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    started.wait()
    if failure:
        thread.join()
        loop.close()
        raise failure[0]
    try:
        yield emulator
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()
