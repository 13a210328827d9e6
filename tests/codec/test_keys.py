"""Storage keys: the exact strings kube-apiserver uses (they are also the encryption AAD)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcrypt.codec import InvalidKeyError, ObjectKey, parse_storage_key, resource_prefix, storage_key


def test_layout() -> None:
    assert storage_key("secrets", "default", "s1") == "/registry/secrets/default/s1"
    assert storage_key("configmaps", "kube-system", "c") == "/registry/configmaps/kube-system/c"
    assert storage_key("namespaces", None, "team-a") == "/registry/namespaces/team-a"


def test_prefix_is_joined_like_path_join() -> None:
    prefix = "43da1478-5e9c-4ef3-a92a-2b19d540c8a5/registry"
    assert (
        storage_key("secrets", "kms-v2-legacy-data", "x", prefix=prefix)
        == "/43da1478-5e9c-4ef3-a92a-2b19d540c8a5/registry/secrets/kms-v2-legacy-data/x"
    )
    assert storage_key("secrets", "a", "b", prefix="/kcrypt/") == "/kcrypt/secrets/a/b"


def test_resource_prefix() -> None:
    assert resource_prefix("secrets") == "/registry/secrets/"
    assert resource_prefix("secrets", "default") == "/registry/secrets/default/"
    assert resource_prefix("namespaces") == "/registry/namespaces/"
    with pytest.raises(InvalidKeyError):
        resource_prefix("namespaces", "default")


def test_parse() -> None:
    assert parse_storage_key("/registry/secrets/default/s1") == ObjectKey(
        "secrets", "default", "s1"
    )
    assert parse_storage_key("/registry/namespaces/n") == ObjectKey("namespaces", None, "n")
    assert parse_storage_key("/p/configmaps/a/b", prefix="/p") == ObjectKey("configmaps", "a", "b")


@pytest.mark.parametrize(
    "key",
    [
        "/registry/secrets/s1",  # namespaced without a namespace
        "/registry/namespaces/a/b",  # cluster-scoped with one
        "/registry/secrets/a/b/c",
        "/registry/secrets//b",
        "/other/secrets/a/b",
        "/registryx/secrets/a/b",
        "/registry/secrets/a/..",
        "/kcrypt/state",
    ],
)
def test_parse_rejects(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        parse_storage_key(key)


@pytest.mark.parametrize(
    ("resource", "namespace", "name"),
    [
        ("secrets", None, "a"),
        ("secrets", "", "a"),
        ("namespaces", "x", "a"),
        ("secrets", "a/b", "c"),
        ("secrets", "a", ""),
        ("secrets", "a", ".."),
        ("secrets", "a", "b%2f"),
    ],
)
def test_build_rejects(resource: str, namespace: str | None, name: str) -> None:
    with pytest.raises(InvalidKeyError):
        storage_key(resource, namespace, name)


_SEGMENT = st.text(
    alphabet=st.characters(blacklist_characters="/%", blacklist_categories=["Cs"]), min_size=1
).filter(lambda s: s not in (".", ".."))


@given(st.sampled_from(["secrets", "configmaps", "namespaces", "widgets"]), _SEGMENT, _SEGMENT)
def test_round_trip(resource: str, namespace: str, name: str) -> None:
    ns = None if resource == "namespaces" else namespace
    key = ObjectKey(resource, ns, name)
    assert parse_storage_key(key.key()) == key
    assert key.key().startswith(resource_prefix(resource, ns))
