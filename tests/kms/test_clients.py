"""The server's KMS clients against real gRPC plugins over unix sockets.

Plugins here run in-process (:class:`ThreadedPlugin`) over FAKE backends
where the point is the client's behaviour (timeouts, version changes, call
counts); the pkcs11 and keyfile backends have their own tests.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from kcrypt.config import build_transformers, load
from kcrypt.datastore.contract import KeyValue
from kcrypt.envelope import KMSUnavailable, Transformer, WouldBlock
from kcrypt.envelope.kms import object as eo
from kcrypt.kms import KMSProviders, parse_endpoint
from kcrypt.kms.errors import EndpointError
from kcrypt.storage import values

from .support import FakeBase64Backend, SlowBackend, ThreadedPlugin

V2_PREFIX = b"k8s:enc:kms:v2:kms-provider:"


def _config(endpoint: str, *, version: str = "v2", extra: str = "") -> bytes:
    api = f"apiVersion: {version}\n          " if version else ""
    return f"""
kind: EncryptionConfiguration
apiVersion: apiserver.config.k8s.io/v1
resources:
  - resources: [secrets]
    providers:
      - kms:
          {api}name: kms-provider
          endpoint: {endpoint}
          timeout: 1s{extra}
      - identity: {{}}
""".encode()


def _secrets(kms: KMSProviders, endpoint: str, **kw: str) -> Transformer:
    return build_transformers(load(_config(endpoint, **kw)).config, kms=kms).for_resource("secrets")


def _secret(name: str, data: str = "eA==") -> bytes:
    """The storage bytes (protobuf) of a small Secret."""
    return values.encode(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"k": data},
        }
    )


def _row(key: str, value: bytes) -> KeyValue:
    return KeyValue(key=key, value=value, create_revision=1, mod_revision=1, version=1, lease=0)


async def _write(chain: Transformer, key: str, data: bytes) -> KeyValue:
    return _row(key, await values.to_storage_async("secrets", chain, key, data, metrics=None))


async def _read(chain: Transformer, row: KeyValue) -> values.Read:
    return await values.read_row_async("secrets", chain, row, metrics=None)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("", "remote KMS provider can't use empty string as endpoint"),
        ("tcp://127.0.0.1:80", 'unsupported scheme "tcp" for remote KMS provider'),
        ("/var/run/kms.sock", 'unsupported scheme "" for remote KMS provider'),
    ],
)
def test_endpoints_other_than_unix_are_refused_with_upstreams_words(
    endpoint: str, message: str
) -> None:
    with pytest.raises(EndpointError) as err:
        parse_endpoint(endpoint)
    assert str(err.value) == message


def test_unix_endpoints() -> None:
    assert parse_endpoint("unix:///var/run/kmsplugin/socket.sock") == (
        "/var/run/kmsplugin/socket.sock"
    )
    assert parse_endpoint("unix:///@abstract") == "@abstract"


async def test_v2_one_encrypt_per_seed_and_a_key_id_change_makes_old_values_stale(
    tmp_path: Path,
) -> None:
    backend = FakeBase64Backend()
    with ThreadedPlugin(tmp_path / "kms.sock", backend) as plugin:
        kms = KMSProviders()
        try:
            chain = _secrets(kms, plugin.endpoint)
            await kms.check()  # the poller's first probe: Status + one Encrypt of a new seed
            rows = [
                await _write(chain, f"/registry/secrets/default/s{i}", _secret(f"s{i}"))
                for i in range(50)
            ]
            assert plugin.counts().get("v2.Encrypt") == 1  # one seed, not one per secret
            first = eo.decode(rows[0].value[len(V2_PREFIX) :], provider="p", storage_key="k")
            assert first.keyID == "1"
            assert first.encryptedDEKSourceType == eo.HKDF_SHA256_XNONCE_AES_GCM_SEED

            plugin.call(backend.rotate)  # the KMS rotated its key: key ID "2"
            await kms.refresh()  # ask now rather than at the next poll
            assert plugin.counts().get("v2.Encrypt") == 2  # a new seed for the new key ID
            read = await _read(chain, rows[0])
            assert read.plaintext == _secret("s0") and read.stale  # written under key ID "1"
            fresh = await _read(
                chain, await _write(chain, "/registry/secrets/default/n", _secret("n"))
            )
            assert not fresh.stale
        finally:
            await kms.close()


async def test_reads_on_the_loop_never_wait_for_the_plugin(tmp_path: Path) -> None:
    with ThreadedPlugin(tmp_path / "kms.sock", FakeBase64Backend()) as plugin:
        kms, other = KMSProviders(), KMSProviders()  # two servers on one plugin
        try:
            chain = _secrets(kms, plugin.endpoint)
            await kms.check()
            key = "/registry/secrets/default/a"
            value = chain.to_storage(_secret("a"), context=key.encode())  # primed: no call
            chain2 = _secrets(other, plugin.endpoint)
            await other.check()
            with pytest.raises(WouldBlock):  # server 2 has not seen this DEK source
                chain2.from_storage(value, context=key.encode())
            assert (await _read(chain2, _row(key, value))).plaintext == _secret("a")
            assert chain2.from_storage(value, context=key.encode()).plaintext == _secret("a")
        finally:
            await kms.close()
            await other.close()


async def test_a_plugin_slower_than_the_timeout_gives_the_timeout_error(tmp_path: Path) -> None:
    with ThreadedPlugin(tmp_path / "kms.sock", SlowBackend(delay=2.5)) as plugin:
        kms = KMSProviders()
        try:
            chain = _secrets(kms, plugin.endpoint)
            with pytest.raises(Exception) as err:
                await kms.check()
            assert (
                "failed to encrypt DEK, error: rpc error: code = DeadlineExceeded "
                "desc = context deadline exceeded"
            ) in str(err.value)
            with pytest.raises(KMSUnavailable) as write:  # never primed: nothing to write with
                chain.to_storage(b"x", context=b"/registry/secrets/default/a")
            assert write.value.upstream == "got unexpected nil transformer"
        finally:
            await kms.close()


async def test_a_plugin_changing_its_api_version_is_refused(tmp_path: Path) -> None:
    with ThreadedPlugin(tmp_path / "kms.sock", FakeBase64Backend()) as plugin:
        kms = KMSProviders()
        try:
            _secrets(kms, plugin.endpoint)
            await kms.check()

            def downgrade() -> None:
                plugin.server.v2.version = "v2beta1"

            plugin.call(downgrade)
            (probe,) = kms.probes()
            probe.expire()
            with pytest.raises(Exception) as err:
                await kms.check()
            assert (
                "kmsv2 Provider kms-provider is not healthy, error: KMSv2 API version should not "
                "change after the initial status response version v2, got v2beta1"
            ) in str(err.value)
        finally:
            await kms.close()


async def test_a_v1_plugin_answering_another_version_is_refused(tmp_path: Path) -> None:
    with ThreadedPlugin(tmp_path / "kms.sock", FakeBase64Backend()) as plugin:
        plugin.server.v1.version = "v2"
        kms = KMSProviders()
        try:
            _secrets(kms, plugin.endpoint, version="")
            with pytest.raises(Exception) as err:
                await kms.check()
            assert (
                "KMS provider api version v2 is not supported, only v1beta1 is supported now"
            ) in str(err.value)
        finally:
            await kms.close()


async def test_v1_is_deprecated_once_and_cachesize_is_honoured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "kcrypt.kms")
    with ThreadedPlugin(tmp_path / "kms.sock", FakeBase64Backend()) as plugin:
        kms = KMSProviders()
        try:
            chain = _secrets(kms, plugin.endpoint, version="", extra="\n          cachesize: 2")
            _secrets(kms, plugin.endpoint, version="", extra="\n          cachesize: 2")  # reload
            deprecations = [r for r in caplog.records if "KMSv1 is deprecated" in r.getMessage()]
            assert len(deprecations) == 1
            rows = [
                await _write(chain, f"/registry/secrets/default/v{i}", _secret(f"v{i}"))
                for i in range(3)
            ]
            base = plugin.counts().get("v1beta1.Decrypt", 0)
            for row in reversed(rows):  # 3 DEKs, 2 slots: only the oldest was evicted
                assert (await _read(chain, row)).plaintext.startswith(b"k8s\x00")
            assert plugin.counts().get("v1beta1.Decrypt", 0) - base == 1
        finally:
            await kms.close()


async def test_kube_apiservers_recorded_kms_v2_values_decrypt_through_a_grpc_plugin(
    tmp_path: Path, k8s_fixtures: Path
) -> None:
    vectors = k8s_fixtures / "vectors"
    records: list[dict[str, Any]] = json.loads(
        (vectors / "kmsv2-legacy-etcd" / "kmsv2-legacy-records.json").read_text()
    )["records"]
    socket = tmp_path / "kms.sock"
    with ThreadedPlugin(socket, FakeBase64Backend(), v2_version="v2beta1") as plugin:
        kms = KMSProviders()
        try:
            chain = _secrets(kms, plugin.endpoint)
            await kms.check()
            for record in records:
                stored = (vectors / record["etcd_value_file"]).read_bytes()
                expected = (vectors / record["decrypted_plaintext_file"]).read_bytes()
                read = await _read(chain, _row(record["etcd_key_and_aad"], stored))
                assert read.plaintext == expected
                assert b"086a7ffc-0225-11e8-ba89-0ed5f89f718b" in read.plaintext
            assert plugin.counts().get("v2.Decrypt") == 2  # one per recorded DEK source
        finally:
            await kms.close()


async def test_a_missing_socket_is_waited_for_up_to_the_timeout(tmp_path: Path) -> None:
    kms = KMSProviders()
    try:
        _secrets(kms, f"unix://{tmp_path}/none.sock")
        with pytest.raises(Exception) as err:
            await kms.check()
        assert "kms-provider: kmsv2 Provider kms-provider is not healthy" in str(err.value)
        assert "DeadlineExceeded" in str(err.value)
    finally:
        await kms.close()
