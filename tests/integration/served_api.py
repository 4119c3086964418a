"""The app served by a real uvicorn server, configured as `insights up` configures it, on a free port of
this process: for tests of what a client sees on the wire (sockets, HTTP framing, the whole document).

The server runs its own event loop in a thread; the Kafka producer is started on that loop.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import uvicorn

from api.app import ApiOptions, create_app
from api.ingest.publisher import Publisher, ensure_topic
from insights.http_server import uvicorn_config
from insights.runner import QuietServer
from insights.settings import Settings
from insights.store import Store
from schemas.topics import CATALOG_TOPIC, EVENTS_TOPIC
from tests.integration.harness import SECRET

STARTUP_SECONDS = 60.0


class StartedServer(QuietServer):
    """Tells `on_started` once it listens."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[uvicorn.Server], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started(self)


class ServedApi:
    def __init__(self, store: Store, bootstrap: str, options: ApiOptions) -> None:
        self._store = store
        self._bootstrap = bootstrap
        self._options = options
        self._server: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="served-api", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApi:
        self._thread.start()
        if not self._ready.wait(STARTUP_SECONDS) or self._failure is not None:
            raise RuntimeError("the API server did not start") from self._failure
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(STARTUP_SECONDS)

    def _started(self, server: uvicorn.Server) -> None:
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._ready.set()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:
            self._failure = error
            self._ready.set()

    async def _serve(self) -> None:
        for topic in (EVENTS_TOPIC, CATALOG_TOPIC):
            await ensure_topic(self._bootstrap, topic, 1)
        publisher = Publisher(self._bootstrap)
        await publisher.start()
        try:
            app = create_app(self._store, publisher, SECRET, self._options)
            settings = Settings(Path("."), "", self._bootstrap, 1, SECRET, port=0)
            self._server = StartedServer(uvicorn_config(app, settings), self._started)
            await self._server.serve()
        finally:
            await publisher.stop()
