"""Rewrite every object of some resources through the Kubernetes API.

For each resource: a paged list, then an *unchanged* PUT of every object.
kube-apiserver (and kcrypt) store an unchanged object again only if it was
read with a key other than the write key ("stale"), so the PUT is how a value
moves to the write key -- on any cluster, kcrypt or not, with nothing but a
kubeconfig.

Compared with RKE's loop (secrets only, 5 workers, no total, no resume):

* any resource, found through discovery;
* the total is known before the first PUT (``remainingItemCount``, or a
  counting list where the server does not give it);
* bounded concurrency -- N workers, each with its own keep-alive connection
  (one shared httpx pool costs more in pool bookkeeping than the PUTs under
  many concurrent requests) -- the next page listed while this one is
  written, and an optional objects/second limit;
* Conflict: the object is read again and PUT again (RKE does the same);
  NotFound: deleted meanwhile, skipped;
* a checkpoint after every page (:mod:`kcrypt.rke.checkpoint`).

Progress goes to a callback (the CLI draws a rich bar or prints log lines).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from kcrypt.rke.checkpoint import Checkpoint
from kcrypt.rke.discovery import ResourceRef
from kcrypt.rke.errors import KubeAPIError, RewriteError
from kcrypt.rke.kube import KubeAccess, api_error, async_client
from kcrypt.rke.ratelimit import SYSTEM_CLOCK, Clock, RateLimiter

__all__ = ["RewriteCounts", "RewriteProgress", "RewriteResult", "RewriteSettings", "rewrite"]

_CONFLICT_RETRIES = 5
_TRANSPORT_RETRIES = 5


@dataclass(frozen=True, slots=True)
class RewriteSettings:
    page_size: int = 500
    concurrency: int = 16
    rate_limit: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RewriteCounts:
    total: int
    done: int
    """Objects examined (PUT, or found deleted)."""
    rewritten: int
    """PUTs that stored the object again (it was under another key)."""
    unchanged: int
    """PUTs the server did not need to store (already under the write key)."""
    conflicts: int
    missing: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RewriteProgress(RewriteCounts):
    resource: str
    """The resource being rewritten now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RewriteResult(RewriteCounts):
    resources: tuple[str, ...]


@dataclass
class _Counts:
    done: int = 0
    rewritten: int = 0
    unchanged: int = 0
    conflicts: int = 0
    missing: int = 0

    def fields(self, *, total: int, elapsed: float) -> dict[str, Any]:
        return {
            "total": max(total, self.done),
            "done": self.done,
            "rewritten": self.rewritten,
            "unchanged": self.unchanged,
            "conflicts": self.conflicts,
            "missing": self.missing,
            "elapsed": elapsed,
        }


async def rewrite(
    access: KubeAccess,
    resources: Sequence[ResourceRef],
    *,
    settings: RewriteSettings,
    checkpoint: Checkpoint,
    on_progress: Callable[[RewriteProgress], None] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> RewriteResult:
    """Rewrite every object of ``resources``; resumes from ``checkpoint``."""
    lister = async_client(access, connections=2)
    workers = [async_client(access, connections=1) for _ in range(settings.concurrency)]
    try:
        return await _rewrite_all(
            lister, workers, resources, settings, checkpoint, on_progress, clock
        )
    finally:
        for c in (lister, *workers):
            await c.aclose()


async def _rewrite_all(
    client: httpx.AsyncClient,
    workers: list[httpx.AsyncClient],
    resources: Sequence[ResourceRef],
    settings: RewriteSettings,
    checkpoint: Checkpoint,
    on_progress: Callable[[RewriteProgress], None] | None,
    clock: Clock,
) -> RewriteResult:
    limiter = RateLimiter(settings.rate_limit, clock)
    start = clock.now()
    counts = _Counts()
    totals = {str(r): await _total(client, r, settings) for r in resources}
    total = sum(totals.values())
    for ref in resources:
        entry = checkpoint.entry(str(ref))
        saved = entry.get("counts") or {}
        for name in ("done", "rewritten", "unchanged", "conflicts", "missing"):
            setattr(counts, name, getattr(counts, name) + int(saved.get(name, 0)))

    def report(resource: str) -> None:
        if on_progress is not None:
            fields = counts.fields(total=total, elapsed=clock.now() - start)
            on_progress(RewriteProgress(resource=resource, **fields))

    for ref in resources:
        entry = checkpoint.entry(str(ref))
        if entry.get("done"):
            continue
        report(str(ref))
        await _rewrite_resource(
            client, workers, ref, entry, settings, limiter, counts, checkpoint, report
        )
        entry["done"] = True
        checkpoint.save()
    fields = counts.fields(total=total, elapsed=clock.now() - start)
    return RewriteResult(resources=tuple(str(r) for r in resources), **fields)


async def _total(client: httpx.AsyncClient, ref: ResourceRef, settings: RewriteSettings) -> int:
    doc = await _request(client, "GET", ref.base, params={"limit": "1"}, what=f"list {ref}")
    remaining = (doc.get("metadata") or {}).get("remainingItemCount")
    items = len(doc.get("items") or [])
    if remaining is not None:
        return items + int(remaining)
    if not (doc.get("metadata") or {}).get("continue"):
        return items
    count, token = 0, ""
    while True:  # the server does not count for us: a list that only counts
        params = {"limit": str(settings.page_size)}
        if token:
            params["continue"] = token
        page = await _request(client, "GET", ref.base, params=params, what=f"list {ref}")
        count += len(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue") or ""
        if not token:
            return count


def _order(item: dict[str, Any]) -> str:
    meta = item.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


async def _rewrite_resource(
    client: httpx.AsyncClient,
    workers: list[httpx.AsyncClient],
    ref: ResourceRef,
    entry: dict[str, Any],
    settings: RewriteSettings,
    limiter: RateLimiter,
    counts: _Counts,
    checkpoint: Checkpoint,
    report: Callable[[str], None],
) -> None:
    token: str = entry.get("continue") or ""
    after: str | None = entry.get("after")

    async def fetch(token: str) -> dict[str, Any]:
        params = {"limit": str(settings.page_size)}
        if token:
            params["continue"] = token
        return await _request(client, "GET", ref.base, params=params, what=f"list {ref}")

    try:
        page = await fetch(token)
    except KubeAPIError as exc:
        if exc.code != 410 or not token:
            raise
        page = await fetch("")  # the continue token expired: start over, skipping what is done
    while True:
        kind = str(page.get("kind") or "").removesuffix("List")
        api_version = str(page.get("apiVersion") or "v1")
        items = [i for i in page.get("items") or [] if after is None or _order(i) > after]
        token = (page.get("metadata") or {}).get("continue") or ""
        following = asyncio.create_task(fetch(token)) if token else None
        saved = {k: getattr(counts, k) for k in ("rewritten", "unchanged", "conflicts", "missing")}

        async def work(
            c: httpx.AsyncClient, share: list[dict[str, Any]], kind: str, api_version: str
        ) -> None:
            for item in share:
                await limiter.acquire()
                await _put(c, ref, item, kind=kind, api_version=api_version, counts=counts)

        n = len(workers)
        try:
            await asyncio.gather(
                *(work(workers[i], items[i::n], kind, api_version) for i in range(n))
            )
        except BaseException:
            if following is not None:
                following.cancel()
            raise
        counts.done += len(items)
        if items:
            after = _order(items[-1])
        entry["continue"], entry["after"] = token, after
        stored = entry.setdefault("counts", {})
        stored["done"] = int(stored.get("done", 0)) + len(items)
        for k, before in saved.items():
            stored[k] = int(stored.get(k, 0)) + getattr(counts, k) - before
        checkpoint.save()
        report(str(ref))
        if following is None:
            return
        try:
            page = await following
        except KubeAPIError as exc:
            if exc.code != 410:
                raise
            page = await fetch("")


async def _put(
    client: httpx.AsyncClient,
    ref: ResourceRef,
    item: dict[str, Any],
    *,
    kind: str,
    api_version: str,
    counts: _Counts,
) -> None:
    meta = item.get("metadata") or {}
    path = ref.item_path(meta.get("namespace"), str(meta.get("name")))
    body = {"apiVersion": api_version, "kind": kind, **item}
    for _ in range(_CONFLICT_RETRIES):
        sent_rv = (body.get("metadata") or {}).get("resourceVersion")
        r = await _send(client, "PUT", path, json=body)
        if r.status_code == 200:
            rv = (r.json().get("metadata") or {}).get("resourceVersion")
            if rv == sent_rv:
                counts.unchanged += 1
            else:
                counts.rewritten += 1
            return
        if r.status_code == 404:
            counts.missing += 1
            return
        if r.status_code != 409:
            raise RewriteError(str(api_error(r, what=f"rewrite {ref} {_order(item)}")))
        counts.conflicts += 1
        fresh = await _send(client, "GET", path)
        if fresh.status_code == 404:
            counts.missing += 1
            return
        if fresh.status_code != 200:
            raise RewriteError(str(api_error(fresh, what=f"read {ref} {_order(item)}")))
        body = {"apiVersion": api_version, "kind": kind, **fresh.json()}
    raise RewriteError(
        f"rewrite {ref} {_order(item)}: still conflicting after {_CONFLICT_RETRIES} tries"
    )


async def _send(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    delay = 0.2
    for attempt in range(_TRANSPORT_RETRIES):
        try:
            return await client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            if attempt == _TRANSPORT_RETRIES - 1:
                raise RewriteError(
                    f"{method} {path}: the API server did not answer ({type(exc).__name__})"
                ) from None
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


async def _request(
    client: httpx.AsyncClient, method: str, path: str, *, what: str, **kwargs: Any
) -> dict[str, Any]:
    r = await _send(client, method, path, **kwargs)
    if r.status_code != 200:
        raise api_error(r, what=what)
    doc = r.json()
    return doc if isinstance(doc, dict) else {}
