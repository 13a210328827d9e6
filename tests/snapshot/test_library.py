"""Save, verify and restore through the library on the embedded and memory engines:
the seed's two failure cases, withheld keys, a key bundle, a damaged file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kcrypt.datastore import Datastore, open_datastore
from kcrypt.snapshot import (
    ChecksumMismatch,
    KeyRing,
    MissingKeys,
    Saved,
    fingerprint,
    keys_at_hand,
    keys_in_config,
    known_keys,
    read_bundle,
    read_manifest,
    restore_snapshot,
    save_snapshot,
    write_bundle,
)
from kcrypt.snapshot.verify import open_verified

from .support import TOKEN, disabled, enabled, key, read_secrets, set_state, write_secrets

VALUES = {f"s{i:02d}": f"value-{i}" for i in range(20)}
K0, K1 = key("k0"), key("k1")


@pytest.fixture(params=["sqlite", "memory"])
async def ds(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Datastore]:
    url = f"sqlite://{tmp_path}/state.db" if request.param == "sqlite" else "memory://"
    store = await open_datastore(url)
    yield store
    await store.close()


async def snapshot_under_k0(ds: Datastore, directory: Path) -> Saved:
    await write_secrets(ds, enabled(K0), VALUES)
    await set_state(ds, enabled(K0))
    keys = await keys_at_hand(ds, token=TOKEN, config=enabled(K0))
    return await save_snapshot(
        ds,
        directory=directory,
        name="on-demand",
        node="n1",
        reason="on-demand",
        keys=keys,
        clock=lambda: 1_764_576_000.0,
    )


async def restore(
    ds: Datastore,
    saved: Saved,
    *,
    config: bytes | None,
    keys: KeyRing,
    token: str = TOKEN,
    snaps: Path | None = None,
) -> bytes:
    restored = await restore_snapshot(
        saved.path,
        ds,
        token=token,
        keys=keys,
        current_config=config,
        provider="aescbc",
        node="n1",
        snapshot_dir=snaps,
    )
    return restored.config


async def test_the_manifest_names_what_the_values_need_by_fingerprint(
    ds: Datastore, tmp_path: Path
) -> None:
    saved = await snapshot_under_k0(ds, tmp_path)
    assert saved.name == "on-demand-n1-1764576000"
    assert saved.path.stat().st_mode & 0o777 == 0o600
    _, manifest = read_manifest(saved.path)
    assert manifest.contents.resources["secrets"] == {"aescbc:k0": 20}
    (need,) = manifest.contents.keys
    assert (need.provider, need.name, need.values) == ("aescbc", "k0", 20)
    assert need.fingerprint == fingerprint(K0.secret)
    assert K0.secret.reveal().hex() not in saved.path.read_bytes().hex()
    assert manifest.contents.encryption_state is not None  # sealed, as the store held it


async def test_snapshot_before_a_rotation_restores_after_it(ds: Datastore, tmp_path: Path) -> None:
    saved = await snapshot_under_k0(ds, tmp_path)
    await write_secrets(ds, enabled(K1), {**VALUES, "later": "after the snapshot"})
    await set_state(ds, enabled(K1))  # k0 is gone from the config and the state

    config = await restore(
        ds,
        saved,
        config=enabled(K1),
        keys=known_keys(keys_in_config(enabled(K1), source="current")),
    )

    assert config == enabled(K1, K0)  # k1 still writes, k0 back read-only
    assert await read_secrets(ds, config) == VALUES  # "later" is gone: it was not in the snapshot


async def test_snapshot_with_encryption_restores_on_a_server_without_it(
    ds: Datastore, tmp_path: Path
) -> None:
    saved = await snapshot_under_k0(ds, tmp_path)
    await write_secrets(ds, disabled(K0), VALUES)  # disabled: values rewritten as plaintext
    # a fresh server started without --secrets-encryption: no config, only the token
    config = await restore(ds, saved, config=None, keys=known_keys())
    assert config == enabled(K0)  # the snapshot's own config, from its token-sealed state
    assert await read_secrets(ds, config) == VALUES


async def test_withheld_keys_are_refused_by_name_before_anything_changes(
    ds: Datastore, tmp_path: Path
) -> None:
    saved = await snapshot_under_k0(ds, tmp_path)
    await write_secrets(ds, enabled(K1), VALUES)
    before = {kv.key: kv.value for kv in (await ds.range("")).kvs}

    with pytest.raises(MissingKeys) as info:
        await restore(
            ds,
            saved,
            config=enabled(K1),
            token="another-token-" + "9" * 40,
            keys=known_keys(keys_in_config(enabled(K1), source="current")),
            snaps=tmp_path,
        )

    (missing,) = info.value.missing
    assert (missing.provider, missing.name, missing.values) == ("aescbc", "k0", 20)
    assert missing.fingerprint == fingerprint(K0.secret)
    assert "'k0'" in str(info.value) and fingerprint(K0.secret) in str(info.value)
    assert {kv.key: kv.value for kv in (await ds.range("")).kvs} == before
    assert [p.name for p in tmp_path.iterdir() if "pre-restore" in p.name] == []


async def test_a_key_bundle_supplies_the_withheld_key(ds: Datastore, tmp_path: Path) -> None:
    saved = await snapshot_under_k0(ds, tmp_path)
    bundle = tmp_path / "keys.bundle"
    write_bundle(bundle, known_keys(keys_in_config(enabled(K1, K0), source="t")), "pass phrase")
    assert bundle.stat().st_mode & 0o777 == 0o600
    await write_secrets(ds, enabled(K1), VALUES)

    keys = known_keys(
        keys_in_config(enabled(K1), source="current"), read_bundle(bundle, "pass phrase")
    )
    config = await restore(ds, saved, config=enabled(K1), token="another-" + "9" * 40, keys=keys)

    assert await read_secrets(ds, config) == VALUES


async def test_one_flipped_byte_is_refused_by_the_checksum(ds: Datastore, tmp_path: Path) -> None:
    saved = await snapshot_under_k0(ds, tmp_path)
    data = bytearray(saved.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    saved.path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="is damaged"):
        await restore(ds, saved, config=enabled(K0), keys=known_keys())


async def test_a_server_refuses_a_datastore_whose_restore_was_interrupted(tmp_path: Path) -> None:
    from kcrypt.server.main import run_server
    from kcrypt.server.settings import AuthSettings, ServerSettings
    from kcrypt.snapshot import RESTORE_KEY, RestoreInterrupted

    settings = ServerSettings(data_dir=tmp_path, node_name="n1", auth=AuthSettings(token=TOKEN))
    ds = await open_datastore(settings.datastore_url)
    await ds.create(RESTORE_KEY, b'{"snapshot": "on-demand-n1-1"}')
    await ds.close()
    with pytest.raises(RestoreInterrupted, match="on-demand-n1-1 into this datastore was"):
        await run_server(settings)


async def test_values_under_two_keys_of_one_name_each_open_with_their_own(
    ds: Datastore, tmp_path: Path
) -> None:
    """A name reused with new bytes: the snapshot holds values under both keys;
    verification opens every value, whichever of the two it needs."""
    k0_again = key("k0")
    half = dict(list(VALUES.items())[:7])
    await write_secrets(ds, enabled(K0), VALUES)
    await write_secrets(ds, enabled(k0_again), half)
    await set_state(ds, enabled(k0_again))
    saved = await save_snapshot(
        ds,
        directory=tmp_path,
        name="reused",
        node="n1",
        reason="on-demand",
        keys=known_keys(keys_in_config(enabled(k0_again, K0), source="t")),
    )
    both = known_keys(
        keys_in_config(enabled(K0), source="old"), keys_in_config(enabled(k0_again), source="new")
    )
    async with open_verified(saved.path, token=None, keys=both, workdir=tmp_path) as verified:
        assert verified.values == len(VALUES)
        assert [k.name for k in verified.used] == ["k0"]
    with pytest.raises(MissingKeys) as info:
        only_new = known_keys(keys_in_config(enabled(k0_again), source="new"))
        async with open_verified(saved.path, token=None, keys=only_new, workdir=tmp_path):
            pass
    (missing,) = info.value.missing
    assert (missing.name, missing.values) == ("k0", len(VALUES) - len(half))
