"""How KMS transformers report a plugin that does not answer, and a call that must not wait.

A client raising ``PluginCallError(unavailable=True)`` (what the gRPC
clients raise for Unavailable / DeadlineExceeded) becomes ``KMSUnavailable``
-- the one error a re-encryption pass waits out; any other failure stays a
plain ``KMSError``. ``WouldBlock`` (a client that cannot wait on the event
loop's thread) passes through chains untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from kcrypt.envelope import (
    Base64KMSv1Client,
    Base64KMSv2Client,
    Chain,
    KMSEncryptResponse,
    KMSError,
    KMSUnavailable,
    PluginCallError,
    WouldBlock,
    aesgcm,
    kms_v1,
    kms_v2,
)
from kcrypt.envelope.kms.v2 import KMSv2Transformer

from ._support import CONTEXT, keys


class Flaky(Base64KMSv2Client):
    """A FAKE v2 plugin whose Encrypt/Decrypt raise ``error`` while it is set."""

    def __init__(self) -> None:
        super().__init__()
        self.error: Exception | None = None

    def encrypt(self, plaintext: bytes, *, uid: str) -> KMSEncryptResponse:
        if self.error is not None:
            raise self.error
        return super().encrypt(plaintext, uid=uid)

    def decrypt(
        self, ciphertext: bytes, *, uid: str, key_id: str, annotations: Mapping[str, bytes]
    ) -> bytes:
        if self.error is not None:
            raise self.error
        return super().decrypt(ciphertext, uid=uid, key_id=key_id, annotations=annotations)


def test_unreachable_plugin_is_kms_unavailable_and_a_failing_one_is_not() -> None:
    client = Flaky()
    writer = kms_v2("p", client)
    value = writer.prefix + writer.transformer.to_storage(b"x", context=CONTEXT)
    second = kms_v2("p", client)  # a second server: primed, but without the writer's DEK
    assert isinstance(second.transformer, KMSv2Transformer)
    second.transformer.refresh()
    reader = Chain([second])
    client.error = PluginCallError("rpc error: code = Unavailable desc = x", unavailable=True)
    with pytest.raises(KMSUnavailable) as err:
        reader.from_storage(value, context=CONTEXT)
    assert err.value.upstream == (
        "failed to decrypt DEK, error: rpc error: code = Unavailable desc = x"
    )
    client.error = PluginCallError("rpc error: code = NotFound desc = unknown key")
    with pytest.raises(KMSError) as failed:
        reader.from_storage(value, context=CONTEXT)
    assert not isinstance(failed.value, KMSUnavailable)


def test_without_on_demand_probes_nothing_is_read_or_written_before_the_first_status() -> None:
    provider = kms_v2("p", Base64KMSv2Client(), probe_on_demand=False)
    with pytest.raises(KMSUnavailable) as err:
        provider.transformer.to_storage(b"x", context=CONTEXT)
    assert err.value.upstream == "got unexpected nil transformer"


def test_would_block_passes_through_chains_and_is_not_a_failure() -> None:
    client = Flaky()
    writer = kms_v2("p", client)
    value = writer.prefix + writer.transformer.to_storage(b"x", context=CONTEXT)
    second = kms_v2("p", client)
    assert isinstance(second.transformer, KMSv2Transformer)
    second.transformer.refresh()
    chain = Chain([second, aesgcm(keys(32, "k1"))])
    client.error = WouldBlock("on the loop")
    with pytest.raises(WouldBlock):
        chain.from_storage(value, context=CONTEXT)
    v1 = Base64KMSv1Client()
    v1.failed = True
    with pytest.raises(KMSError):
        kms_v1("p1", v1).transformer.to_storage(b"x", context=CONTEXT)
