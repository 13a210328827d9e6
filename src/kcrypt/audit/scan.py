"""Read every value (and every kept older revision) of a datastore; count who protects it.

The scan never writes: it ranges the live values under ``/registry/`` at one
revision R, page by page, then replays the history the store still keeps up
to R (:meth:`~kcrypt.datastore.Datastore.history`). For each current value it

1. reads the envelope header (``k8s:enc:<provider>:v1:<key>:``) to know which
   provider and key the value claims -- plaintext has none;
2. decrypts it with the resource's transformer, as kube-apiserver would with
   the same EncryptionConfiguration: the proof that the key at hand really
   opens it (a header alone proves nothing), and the reason when it does not
   (:mod:`kcrypt.audit.tally`).

Older revisions are classified by header only: they are counted, not
served. A resource is the storage key's second segment
(``/registry/secrets/...``), or ``<resource>.<group>`` when that segment is
an API group (``/registry/apps.example.com/widgets/...``); its transformer
comes from the config exactly as kube-apiserver picks it (exact rule, then
``*.<group>``, then ``*.*``, else identity).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from kcrypt.audit.report import KeyUse, Report
from kcrypt.audit.tally import Tally
from kcrypt.config import Transformers
from kcrypt.datastore import Datastore, EventType

__all__ = ["PAGE", "Progress", "audit_store", "by_key"]

PAGE = 1000
REGISTRY = "/registry/"

#: (done, total) current values examined so far.
Progress = Callable[[int, int], None]


async def audit_store(
    ds: Datastore,
    transformers: Transformers,
    *,
    known_names: tuple[str, ...],
    config_hash: str,
    history: bool = True,
    prefix: str = REGISTRY,
    on_progress: Progress | None = None,
    page: int = PAGE,
) -> Report:
    """Audit ``ds`` (read only) with ``transformers``; ``known_names`` are the
    config's key and KMS provider names (for names containing ``:``). The
    values are counted up front only for ``on_progress``: that count is a
    whole pass over the keys."""
    started = time.monotonic()
    revision = await ds.revision()
    total = await ds.count(prefix, revision=revision) if on_progress is not None else 0
    tally = Tally(transformers, known_names)
    current = 0
    after: str | None = None
    while True:
        chunk = await ds.range(prefix, start_after=after, limit=page, revision=revision)
        # Off the loop: a KMS provider's read may have to wait for its plugin, which
        # it can only do on a worker thread; and an online audit's decryption then
        # leaves the server's loop to its requests.
        await asyncio.to_thread(tally.page, chunk.kvs)
        current += len(chunk.kvs)
        if on_progress is not None:
            on_progress(current, total)
        if not chunk.more or not chunk.kvs:
            break
        after = chunk.kvs[-1].key
    old = 0
    if history:
        events = ds.history(prefix, start_revision=1, end_revision=revision, superseded=True)
        async for ev in events:
            if ev.type is EventType.PUT:
                tally.old(ev.kv.key, ev.kv.value)
                old += 1
    return Report(
        source=ds.endpoint,
        revision=revision,
        config_hash=config_hash,
        rows=tally.freeze(),
        values=current,
        history_values=old,
        elapsed=time.monotonic() - started,
    )


def by_key(report: Report) -> Mapping[tuple[str, str, str], KeyUse]:
    """Rows keyed by (resource, provider, key), for tests and callers that look one up."""
    return {(r.resource, r.provider, r.key): r for r in report.rows}
