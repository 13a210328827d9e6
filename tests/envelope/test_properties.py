"""Property tests: whatever is stored, reads fail only with EnvelopeError, never leak.

Stored values come from etcd/SQLite and may be damaged, truncated or written
by something else; a reader must answer with a typed envelope error (which
storage turns into one clear internal error), and that error must not carry
key material or plaintext.
"""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcrypt.envelope import (
    AggregateError,
    Base64KMSv1Client,
    Base64KMSv2Client,
    Chain,
    EnvelopeError,
    Key,
    identity,
    kms_v1,
    kms_v2,
    parse_prefix,
)

from ._support import CASES, CONTEXT, AEADKMSv1Client, AEADKMSv2Client, keys

SECRET = b"TOPSECRET-plaintext-value-0123456789"
KEYS: list[Key] = []


def _remember(ks: list[Key]) -> list[Key]:
    KEYS.extend(ks)
    return ks


def _single_chains() -> dict[str, Chain]:
    chains: dict[str, Chain] = {}
    for case in CASES:
        # distinct key names per case, so in the mixed chain each value has one reader
        names = (f"{case.id}-1", f"{case.id}-2")
        chains[case.id] = Chain([case.build(_remember(keys(case.key_size, *names)))])
    kek2, kek1 = _remember(keys(32, "kek2", "kek1"))
    chains["kms-v2-aead"] = Chain([kms_v2("p", AEADKMSv2Client(kek2.secret.reveal()))])
    chains["kms-v1-aead"] = Chain([kms_v1("p", AEADKMSv1Client(kek1.secret.reveal()))])
    chains["kms-v2-base64"] = Chain([kms_v2("b64", Base64KMSv2Client())])
    chains["kms-v1-base64"] = Chain([kms_v1("b64", Base64KMSv1Client())])
    return chains


CHAINS = _single_chains()
MIXED = Chain(
    [
        provider
        for chain in CHAINS.values()
        for provider in chain.providers
        if provider.prefix  # identity last, as an operator migrating to encryption would
    ]
    + [identity()]
)
VALID = {name: chain.to_storage(SECRET, context=CONTEXT) for name, chain in CHAINS.items()}
ALL_CHAINS: list[Chain] = [*CHAINS.values(), MIXED]


def _assert_no_leak(err: EnvelopeError) -> None:
    texts = [str(err), err.upstream, repr(err)]
    if isinstance(err, AggregateError):
        for inner in err.errors:
            _assert_no_leak(inner)
    for text in texts:
        assert SECRET.decode() not in text
        for key in KEYS:
            raw = key.secret.reveal()
            assert raw.hex() not in text
            assert base64.b64encode(raw).decode() not in text
            assert raw.decode("latin-1") not in text


def _read_everywhere(data: bytes) -> None:
    for chain in ALL_CHAINS:
        try:
            chain.from_storage(data, context=CONTEXT)
        except EnvelopeError as err:
            _assert_no_leak(err)
        try:
            parse_prefix(data)
        except EnvelopeError as err:
            _assert_no_leak(err)


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _read_everywhere(data)


@SETTINGS
@given(
    st.sampled_from(sorted(VALID)),
    st.sampled_from([b"k8s:enc:", b"k8s:enc:aescbc:v1:", b"k8s:enc:aesgcm:v1:aesgcm-32-1:", b""]),
    st.binary(max_size=80),
)
def test_known_prefixes_with_junk(name: str, prefix: bytes, junk: bytes) -> None:
    _read_everywhere(prefix + junk)
    _read_everywhere(VALID[name][: len(VALID[name]) // 2] + junk)


@SETTINGS
@given(st.sampled_from(sorted(VALID)), st.data())
def test_mutated_ciphertexts(name: str, data: st.DataObject) -> None:
    value = bytearray(VALID[name])
    mutation = data.draw(st.sampled_from(["flip", "truncate", "insert", "append"]))
    index = data.draw(st.integers(min_value=0, max_value=len(value) - 1))
    if mutation == "flip":
        value[index] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    elif mutation == "truncate":
        del value[index:]
    elif mutation == "insert":
        value[index:index] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        value += data.draw(st.binary(min_size=1, max_size=40))
    _read_everywhere(bytes(value))


def test_valid_values_read_through_the_mixed_chain() -> None:
    for name, value in VALID.items():
        result = MIXED.from_storage(value, context=CONTEXT)
        assert result.plaintext == SECRET, name


def test_every_provider_is_in_the_mixed_chain() -> None:
    kinds = {p.prefix.split(b":")[2] if p.prefix else b"identity" for p in MIXED.providers}
    assert kinds == {b"aescbc", b"aesgcm", b"secretbox", b"kms", b"identity"}
