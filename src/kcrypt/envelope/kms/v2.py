"""KMS v2: ``k8s:enc:kms:v2:<name>:`` + protobuf ``EncryptedObject``.

Write: one 32-byte seed per key ID, encrypted once by the plugin and reused
(each value gets its own HKDF-derived DEK). The seed is replaced when the
plugin's ``status().key_id`` changes; a write DEK is usable for 3 minutes
after the last healthy status, after which writes fail until the plugin
answers again (reads never expire). Read: decode and validate, decrypt the
DEK source through the plugin once per distinct (type, source, keyID,
annotations) and cache the result, then AES-GCM. A value is stale when its
keyID or DEK-source type differs from the current write state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kcrypt.envelope.aesgcm import GCMTransformer
from kcrypt.envelope.base import ReadResult, Transformer, WouldBlock
from kcrypt.envelope.errors import (
    EnvelopeError,
    InvalidSetup,
    KMSError,
    KMSUnavailable,
    storage_key_text,
)
from kcrypt.envelope.kms import object as eo
from kcrypt.envelope.kms.client import KMSStatus, KMSv2Client
from kcrypt.envelope.kms.seed import SEED_SIZE, SeedTransformer
from kcrypt.envelope.provider import KMS_V2_PREFIX, Key, Provider
from kcrypt.sensitive import SecretBytes

__all__ = ["KMSv2Transformer", "KeyIDObserver", "kms_v2"]

WRITE_DEK_TTL = 180.0  # kmsv2PluginWriteDEKSourceMaxTTL
PROBE_HEALTHY = 60.0  # kmsv2PluginHealthzPositiveInterval
PROBE_FAILING = 10.0  # kmsv2PluginHealthzNegativeInterval
CACHE_TTL = 24 * 3600.0
_VERSIONS = ("v2", "v2beta1")
_LABEL = "kms v2"


class KeyIDObserver(Protocol):
    """Where kube-apiserver's key-ID metrics come from (the server records them)."""

    def key_id_used(self, transformation_type: str, key_id: str) -> None: ...

    def invalid_key_id(self, error: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _State:
    transformer: Transformer
    key_id: str
    encrypted_source: bytes
    annotations: dict[str, bytes]
    source_type: eo.SourceType
    cache_key: bytes
    expires_at: float


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KMSv2Transformer:
    """The transformer behind :func:`kms_v2` (after its prefix).

    ``probe_on_demand`` (the default, for in-process clients): the first read
    or write, and writes once a probe is due, ask the plugin for its status.
    A server turns it off and calls :meth:`refresh` from its own poller
    (upstream's), so no value transformation ever waits for a status call;
    until the first good status every read and write then fails with
    upstream's ``got unexpected nil transformer``.
    """

    def __init__(
        self,
        name: str,
        client: KMSv2Client,
        *,
        clock: Callable[[], float],
        probe_on_demand: bool = True,
        observer: KeyIDObserver | None = None,
    ) -> None:
        if not name or ":" in name:
            raise InvalidSetup(f"invalid KMS provider name {name!r}", provider=_LABEL)
        self.name = name
        self._client = client
        self._clock = clock
        self._on_demand = probe_on_demand
        self._observer = observer
        self._lock = threading.Lock()
        self._state: _State | None = None
        self._version = ""
        self._next_probe = 0.0
        self._cache: dict[bytes, tuple[Transformer, float]] = {}

    @property
    def key_id(self) -> str:
        """The key ID new values are written under ("" before the first good status)."""
        state = self._state
        return state.key_id if state is not None else ""

    @property
    def dek_source_cache_size(self) -> int:
        return len(self._cache)

    # --- plugin state -------------------------------------------------------

    def refresh(self) -> KMSStatus:
        """Probe the plugin; rotate the seed if its key ID changed, else extend the write TTL.

        Upstream's poller calls this every minute (every 10 s while failing).
        The plugin is called without holding the state lock, so reads and
        writes on other threads never wait for it. Returns the status.
        """
        now = self._clock()
        self._next_probe = now + PROBE_FAILING
        status = self._status()
        expires = now + WRITE_DEK_TTL
        state = self._state
        if state is not None and state.key_id == status.key_id:
            new = dataclasses.replace(state, expires_at=expires)
        else:
            new = self._new_state(status.key_id, expires)
        with self._lock:
            self._state = new
            self._next_probe = now + PROBE_HEALTHY
        return status

    def _status(self) -> KMSStatus:
        try:
            status = self._client.status()
        except WouldBlock:
            raise
        except Exception as err:  # the plugin is foreign code: every failure is a KMSError
            raise self._plugin_error(
                f"kmsv2 Provider {self.name} is not healthy, error: {err}", err
            ) from err
        problems = []
        if status.healthz != "ok":
            problems.append(f"got unexpected healthz status: {status.healthz}")
        if status.version not in _VERSIONS:
            problems.append(f"expected KMSv2 API version v2, got {status.version}")
        elif self._version and status.version != self._version:
            problems.append(
                "KMSv2 API version should not change after the initial status response version "
                f"{self._version}, got {status.version}"
            )
        if problem := eo.validate_key_id(status.key_id):
            if self._observer is not None:
                self._observer.invalid_key_id("empty" if not status.key_id else "too_long")
            problems.append(
                f'got invalid KMSv2 KeyID hash "{eo.key_id_hash(status.key_id)}": {problem}'
            )
        if problems:
            joined = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
            raise self._error(f"kmsv2 Provider {self.name} is not healthy, error: {joined}")
        self._version = self._version or status.version
        return status

    def _new_state(self, status_key_id: str, expires: float) -> _State:
        seed = SecretBytes(os.urandom(SEED_SIZE))
        uid = str(uuid.uuid4())
        try:
            resp = self._client.encrypt(seed.reveal(), uid=uid)
        except WouldBlock:
            raise
        except Exception as err:  # foreign plugin code
            raise self._plugin_error(f"failed to encrypt DEK, error: {err}", err) from err
        obj = eo.EncryptedObject(
            encryptedData=b"\x00",  # placeholder so the plugin's fields are validated now
            keyID=resp.key_id,
            encryptedDEKSource=resp.ciphertext,
            annotations=dict(resp.annotations),
            encryptedDEKSourceType=eo.HKDF_SHA256_XNONCE_AES_GCM_SEED,
        )
        problem = eo.validate(obj)
        if problem is None and resp.key_id != status_key_id:
            problem = "encrypt key ID does not match the status key ID"
        if problem:
            raise self._error(
                f'failed to rotate DEK uid="{uid}", errGen={problem}, '
                f'statusKeyIDHash="{eo.key_id_hash(status_key_id)}", '
                f'encryptKeyIDHash="{eo.key_id_hash(resp.key_id)}"'
            )
        source_type = eo.HKDF_SHA256_XNONCE_AES_GCM_SEED
        return _State(
            transformer=SeedTransformer(seed, name=self.name),
            key_id=resp.key_id,
            encrypted_source=bytes(resp.ciphertext),
            annotations=dict(resp.annotations),
            source_type=source_type,
            cache_key=eo.cache_key(source_type, resp.ciphertext, resp.key_id, resp.annotations),
            expires_at=expires,
        )

    def _current_state(self, *, write: bool) -> _State:
        now = self._clock()
        if self._on_demand:
            if self._state is None:
                self.refresh()
            elif write and now >= self._next_probe:
                # a failed probe keeps writing with the current DEK until it expires (upstream)
                with contextlib.suppress(KMSError):
                    self.refresh()
        state = self._state
        if state is None:
            raise KMSUnavailable(
                "got unexpected nil transformer", key_name=self.name, provider=_LABEL
            )
        if write and now > state.expires_at:
            raise KMSUnavailable(
                f'encryptedDEKSource with keyID hash "{eo.key_id_hash(state.key_id)}" expired '
                f"at {_rfc3339(state.expires_at)} (current time is {_rfc3339(now)})",
                key_name=self.name,
                provider=_LABEL,
            )
        return state

    # --- Transformer --------------------------------------------------------

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        state = self._current_state(write=True)
        self._cache_set(state.cache_key, state.transformer)
        obj = eo.EncryptedObject(
            encryptedData=state.transformer.to_storage(plaintext, context=context),
            keyID=state.key_id,
            encryptedDEKSource=state.encrypted_source,
            annotations=state.annotations,
            encryptedDEKSourceType=state.source_type,
        )
        value = eo.encode(obj, provider=self.name, storage_key=storage_key_text(context))
        if self._observer is not None:
            self._observer.key_id_used("to_storage", state.key_id)
        return value

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        obj = eo.decode(data, provider=self.name, storage_key=storage_key_text(context))
        state = self._current_state(write=False)
        source_type = int(obj.encryptedDEKSourceType)
        key = eo.cache_key(source_type, obj.encryptedDEKSource, obj.keyID, obj.annotations)
        transformer = self._cache_get(key)
        if transformer is None:
            transformer = self._decrypt_source(obj, context)
            self._cache_set(key, transformer)
        result = transformer.from_storage(obj.encryptedData, context=context)
        stale = result.stale or obj.keyID != state.key_id or source_type != state.source_type
        if self._observer is not None:
            self._observer.key_id_used("from_storage", obj.keyID)
        return ReadResult(plaintext=result.plaintext, stale=stale)

    def _decrypt_source(self, obj: eo.EncryptedObject, context: bytes) -> Transformer:
        try:
            plain = self._client.decrypt(
                obj.encryptedDEKSource,
                uid=str(uuid.uuid4()),
                key_id=obj.keyID,
                annotations=dict(obj.annotations),
            )
        except WouldBlock:
            raise
        except Exception as err:  # foreign plugin code
            raise self._plugin_error(f"failed to decrypt DEK, error: {err}", err, context) from err
        secret = SecretBytes(plain)
        try:
            if obj.encryptedDEKSourceType == eo.HKDF_SHA256_XNONCE_AES_GCM_SEED:
                return SeedTransformer(secret, name=self.name)
            return GCMTransformer(Key(self.name, secret), provider=_LABEL)
        except EnvelopeError as err:
            raise self._error(err.upstream, context) from err

    # --- DEK cache (upstream: utilcache.Expiring, 24 h, expired entries still served) ---

    def _cache_get(self, key: bytes) -> Transformer | None:
        entry = self._cache.get(key)
        return entry[0] if entry else None

    def _cache_set(self, key: bytes, transformer: Transformer) -> None:
        now = self._clock()
        with self._lock:
            if key not in self._cache:
                for stale_key in [k for k, (_, exp) in self._cache.items() if exp < now]:
                    del self._cache[stale_key]
            self._cache[key] = (transformer, now + CACHE_TTL)

    def _error(self, message: str, context: bytes | None = None) -> KMSError:
        storage_key = storage_key_text(context) if context is not None else None
        return KMSError(message, key_name=self.name, provider=_LABEL, storage_key=storage_key)

    def _plugin_error(self, message: str, err: Exception, context: bytes | None = None) -> KMSError:
        """A failed plugin call: :class:`KMSUnavailable` when the plugin did not answer."""
        storage_key = storage_key_text(context) if context is not None else None
        kind = KMSUnavailable if getattr(err, "unavailable", False) else KMSError
        return kind(message, key_name=self.name, provider=_LABEL, storage_key=storage_key)


def kms_v2(
    name: str,
    client: KMSv2Client,
    *,
    clock: Callable[[], float] = time.time,
    probe_on_demand: bool = True,
    observer: KeyIDObserver | None = None,
) -> Provider:
    """The ``kms: {apiVersion: v2, name: <name>}`` provider.

    The plugin is first asked for its status on the first read or write (or
    an explicit ``provider.transformer.refresh()``), not here: building a
    provider does no I/O.
    """
    return Provider(
        prefix=KMS_V2_PREFIX + f"{name}:".encode(),
        transformer=KMSv2Transformer(
            name, client, clock=clock, probe_on_demand=probe_on_demand, observer=observer
        ),
    )
