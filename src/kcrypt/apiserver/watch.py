"""Watch streams: chunked JSON lines ``{"type": ..., "object": ...}``.

Each storage event becomes one line as soon as it happens; an error after the
stream started becomes one ``ERROR`` event carrying a Status (kube-apiserver
sends ``410 Expired`` this way when the requested resourceVersion is
compacted) and ends the stream. The stream ends when ``timeoutSeconds``
passes (kube-apiserver's default is about 30 minutes, clients re-watch) or
when the client goes away: Starlette cancels the sending task, and the
``finally`` closes the storage watch and with it the datastore watch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse

from kcrypt.apiserver.negotiation import JSON, dump_json
from kcrypt.apiserver.status import error_status
from kcrypt.storage import StorageError, WatchEvent

__all__ = ["DEFAULT_TIMEOUT", "watch_response"]

DEFAULT_TIMEOUT = 1800.0
log = logging.getLogger("kcrypt.apiserver.watch")


async def _lines(
    events: AsyncIterator[WatchEvent],
    render: Callable[[dict[str, Any]], Any],
    timeout: float,
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                event = await asyncio.wait_for(events.__anext__(), remaining)
            except (StopAsyncIteration, TimeoutError):
                return
            except StorageError as exc:
                yield dump_json({"type": "ERROR", "object": error_status(exc)})
                return
            yield dump_json({"type": event.type, "object": render(event.object)})
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
        log.debug("watch stream closed")


def watch_response(
    events: AsyncIterator[WatchEvent],
    *,
    render: Callable[[dict[str, Any]], Any],
    timeout: float | None = None,
) -> StreamingResponse:
    """A 200 streaming response of ``events``, each object passed through ``render``."""
    return StreamingResponse(
        _lines(events, render, timeout if timeout and timeout > 0 else DEFAULT_TIMEOUT),
        media_type=JSON,
        headers={"Cache-Control": "no-cache, private"},
    )
