"""Proof that an API server serves with the config file kcrypt deployed.

kube-apiserver (with ``--encryption-provider-config-automatic-reload``) and
kcrypt publish ``apiserver_encryption_config_controller_last_config_info``
with label ``hash="sha256:<hex of the file's bytes>"`` on ``/metrics``: once
every controlplane server shows the hash of the bytes kcrypt wrote, every one
of them can read (and, in the write phase, writes with) that config. A reload
the server *rejected* shows as a new ``..._automatic_reloads_total{status=
"failure"}``, which ends the wait at once with the reason to look at.

An API server without automatic reload gets the node's restart command, then
must answer ``/readyz``; if it also publishes the hash, that must match too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from kcrypt.rke.errors import NotLoaded
from kcrypt.rke.ratelimit import SYSTEM_CLOCK, Clock

__all__ = ["LoadedView", "prove_loaded", "read_metrics"]

INFO = "apiserver_encryption_config_controller_last_config_info"
RELOADS = "apiserver_encryption_config_controller_automatic_reloads"


@dataclass(frozen=True, slots=True)
class LoadedView:
    """What one server's /metrics says about its encryption config."""

    reachable: bool
    hashes: frozenset[str] = frozenset()
    failures: float = 0.0
    published: bool = False
    """Whether the server publishes the config-info series at all."""


async def read_metrics(client: httpx.AsyncClient, url: str) -> LoadedView:
    try:
        r = await client.get(f"{url}/metrics")
    except httpx.TransportError:
        return LoadedView(reachable=False)
    if r.status_code != 200:
        return LoadedView(reachable=True)
    hashes: set[str] = set()
    failures, published = 0.0, False
    for family in text_string_to_metric_families(r.text):
        if family.name == INFO:
            for sample in family.samples:
                published = True
                if sample.value == 1 and sample.labels.get("hash"):
                    hashes.add(sample.labels["hash"])
        elif family.name == RELOADS:
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("status") == "failure":
                    failures += sample.value
    return LoadedView(True, frozenset(hashes), failures, published)


async def _ready(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def prove_loaded(
    client: httpx.AsyncClient,
    *,
    node: str,
    url: str,
    expected: str,
    before: LoadedView,
    restart: Callable[[], Awaitable[None]] | None,
    timeout: float,
    interval: float = 0.2,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Wait until the server at ``url`` shows it runs the file with hash ``expected``."""
    if restart is not None:
        await restart()
    deadline = clock.now() + timeout
    last = before
    while True:
        view = await read_metrics(client, url)
        if view.reachable:
            last = view
        if restart is None:
            if expected in view.hashes:
                return
            if view.failures > before.failures:
                raise NotLoaded(
                    f"[{node}] the API server rejected the new encryption config (hash "
                    f"{expected}); it keeps serving with its previous one -- its log says why"
                )
        elif await _ready(client, url) and (not view.published or expected in view.hashes):
            return
        if clock.now() >= deadline:
            shown = ", ".join(sorted(last.hashes)) or "no config hash"
            how = "after its restart command" if restart is not None else "through automatic reload"
            hint = ""
            if restart is None and last.reachable and not last.published:
                hint = (
                    f"; it publishes no {INFO}: run it with "
                    f"--encryption-provider-config-automatic-reload or give the node a "
                    f"kcrypt.restart_command"
                )
            raise NotLoaded(
                f"[{node}] the API server at {url} did not load the encryption config with hash "
                f"{expected} {how} within {timeout:g}s (it shows {shown}){hint}"
            )
        await clock.sleep(interval)
