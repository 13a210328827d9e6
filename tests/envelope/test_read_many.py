"""Reading many aescbc values in one call gives each value exactly what a read
of it alone gives; ``leaves`` names the reader a chain tries first."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from kcrypt.envelope import Chain, EnvelopeError, Key, ManyReader, aescbc, identity, leaves
from kcrypt.envelope.aescbc import AESCBCTransformer
from kcrypt.sensitive import SecretBytes

CONTEXT = b"/registry/secrets/default/s"
KEY_A, KEY_B = Key("a", SecretBytes(os.urandom(32))), Key("a", SecretBytes(os.urandom(32)))
READER = AESCBCTransformer(KEY_A)


def _alone(data: bytes) -> bytes | None:
    try:
        return READER.from_storage(data, context=CONTEXT).plaintext
    except EnvelopeError:
        return None


def _unpadded(key: Key, blocks: bytes) -> bytes:
    """``blocks`` encrypted with no padding at all: a value no reader may accept."""
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(key.secret.reveal()), modes.CBC(iv)).encryptor()
    return iv + enc.update(blocks) + enc.finalize()


_value = st.one_of(
    st.tuples(st.sampled_from([KEY_A, KEY_B]), st.binary(max_size=80)).map(
        lambda kp: AESCBCTransformer(kp[0]).to_storage(kp[1], context=CONTEXT)
    ),
    st.binary(max_size=70),  # damaged or foreign bytes of any length
    st.integers(1, 4).map(lambda n: _unpadded(KEY_A, bytes(16 * n))),  # pad byte 0
    st.integers(1, 4).map(lambda n: _unpadded(KEY_A, b"\x07" * (16 * n))),  # 7s: bad pad
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_value, max_size=12))
def test_a_batch_read_gives_each_value_what_reading_it_alone_gives(values: list[bytes]) -> None:
    assert READER.read_many(values) == [_alone(v) for v in values]


def test_values_written_by_the_key_come_back_beside_ones_it_cannot_open() -> None:
    good = [READER.to_storage(b"x" * n, context=CONTEXT) for n in (0, 15, 16, 17, 100)]
    foreign = AESCBCTransformer(KEY_B).to_storage(b"y" * 31, context=CONTEXT)
    truncated = good[4][:-1]
    got = READER.read_many([good[0], foreign, good[1], truncated, *good[2:]])
    assert got[0] == b"" and got[2] == b"x" * 15 and got[3] is None
    assert got[4:] == [b"x" * 16, b"x" * 17, b"x" * 100]
    assert isinstance(READER, ManyReader)


def test_leaves_list_readers_in_the_order_a_read_tries_them() -> None:
    one, two = Key("one", SecretBytes(os.urandom(32))), Key("two", SecretBytes(os.urandom(16)))
    chain = Chain([aescbc([one, two]), identity()])
    found = leaves(chain)
    assert [prefix for prefix, _ in found] == [
        b"k8s:enc:aescbc:v1:one:",
        b"k8s:enc:aescbc:v1:two:",
        b"",
    ]
    value = chain.to_storage(b"payload", context=CONTEXT)
    prefix, reader = next((p, r) for p, r in found if value.startswith(p))
    assert reader.from_storage(value[len(prefix) :], context=CONTEXT).plaintext == b"payload"
    assert not isinstance(found[-1][1], ManyReader)  # identity is read one by one
