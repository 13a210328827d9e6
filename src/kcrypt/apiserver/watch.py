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
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from kcrypt.apiserver.negotiation import JSON, dump_json
from kcrypt.apiserver.status import error_status
from kcrypt.storage import StorageError, WatchEvent

__all__ = ["DEFAULT_TIMEOUT", "watch_response"]

DEFAULT_TIMEOUT = 1800.0
log = logging.getLogger("kcrypt.apiserver.watch")


_END = object()


async def _pump(events: AsyncIterator[WatchEvent], queue: asyncio.Queue[Any]) -> None:
    """Drive the storage watch in a task of its own: only this task ever touches
    the generator, so closing it on cancellation is always safe."""
    try:
        async for event in events:
            await queue.put(event)
        await queue.put(_END)
    except StorageError as exc:
        await queue.put(exc)
    except Exception as exc:  # surfaced as a 500 ERROR event
        await queue.put(exc)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


async def _lines(
    events: AsyncIterator[WatchEvent],
    render: Callable[[dict[str, Any]], Any],
    timeout: float,
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
    pump = asyncio.create_task(_pump(events, queue))
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                item = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                return
            if item is _END:
                return
            if isinstance(item, Exception):
                yield dump_json({"type": "ERROR", "object": error_status(item)})
                return
            yield dump_json({"type": item.type, "object": render(item.object)})
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        log.debug("watch stream closed")


class _WatchResponse(StreamingResponse):
    """A stream that always listens for the client going away.

    Starlette skips that for ASGI spec >= 2.4 servers (uvicorn) and relies on
    ``send`` failing, but an idle watch sends nothing, so a gone client would
    hold its datastore watch until the timeout. Listening costs one task.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def run_then_cancel(func: Callable[[], Awaitable[None]]) -> None:
                with contextlib.suppress(OSError):  # the client went away mid-send
                    await func()
                group.cancel_scope.cancel()

            group.start_soon(run_then_cancel, lambda: self.stream_response(send))
            await run_then_cancel(lambda: self.listen_for_disconnect(receive))


def watch_response(
    events: AsyncIterator[WatchEvent],
    *,
    render: Callable[[dict[str, Any]], Any],
    timeout: float | None = None,
) -> _WatchResponse:
    """A 200 streaming response of ``events``, each object passed through ``render``."""
    return _WatchResponse(
        _lines(events, render, timeout if timeout and timeout > 0 else DEFAULT_TIMEOUT),
        media_type=JSON,
        headers={"Cache-Control": "no-cache, private"},
    )
