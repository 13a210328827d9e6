"""The seed's single-server procedures through the controller, checking raw stored bytes.

After each step: every value sits under the expected envelope prefix (none
plaintext while enabled, all plaintext after disable + reencrypt) and every
value decrypts to the original.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.encryption import (
    CHECKPOINT_KEY,
    KeyInUse,
    Reencryptor,
    Target,
    check_removable,
    key_prefix,
    parse_config,
    render_config,
    scan_key_usage,
    transformer_for,
)
from kcrypt.encryption.keys import new_key
from kcrypt.encryption.model import ConfigKey, KeyConfig, ProviderKeys

from ._node import Node, body

PREFIX = "/registry/secrets/"
N = 120


def original(i: int) -> bytes:
    return b"k8s\x00\x0a\x0c\x0a\x02v1\x12\x06Secret" + f"secret-{i}".encode()


async def seed_values(ds: Datastore, n: int = N, *, config: bytes | None = None) -> None:
    tf = transformer_for(config) if config else None
    puts = []
    for i in range(n):
        key = f"{PREFIX}ns{i % 3}/s{i:05d}"
        value = tf.to_storage(original(i), context=key.encode()) if tf else original(i)
        puts.append(PutIf(key, value, 0))
    await ds.txn_put(puts)


async def seed_under_one_key(ds: Datastore) -> tuple[ConfigKey, ConfigKey]:
    """Values under an aescbc key k0; k1 a new key for the same config (not in the store)."""
    old = render_config(
        KeyConfig((ProviderKeys("aescbc", (new_key("aescbc"),)), ProviderKeys("identity")))
    )
    await seed_values(ds, config=old)
    k0 = parse_config(old).providers[0].keys[0]
    k1 = new_key("aescbc", config=parse_config(old))
    return k0, k1


async def raw(ds: Datastore) -> dict[str, bytes]:
    page = await ds.range(PREFIX)
    return {kv.key: kv.value for kv in page.kvs}


async def assert_store(ds: Datastore, config: bytes, *, plaintext: bool = False) -> None:
    values = await raw(ds)
    assert len(values) == N
    cfg = parse_config(config)
    expected = b"k8s\x00" if plaintext else cfg.write_prefix.encode()
    tf = transformer_for(config)
    for key, value in values.items():
        assert value.startswith(expected), (key, value[:40])
        if not plaintext:
            assert b"secret-" not in value
        i = int(key.rsplit("s", 1)[1])
        assert tf.from_storage(value, context=key.encode()).plaintext == original(i)


def first_boot(path: Path, provider: str = "aescbc") -> bytes:
    config = KeyConfig((ProviderKeys(provider, (new_key(provider),)), ProviderKeys("identity")))
    data = render_config(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


async def test_classic_prepare_rotate_reencrypt(store: Datastore, tmp_path: Path) -> None:
    path = tmp_path / "server/cred/encryption-config.json"
    boot = first_boot(path)
    await seed_values(store, config=boot)
    server = await Node(store, path).start()
    assert (await server.status())["stage"] == "start"

    await server.run({"stage": "prepare", "force": False, "skip": False})
    status = await server.status()
    assert status["stage"] == "prepare" and len(status["inactivekeys"]) == 1
    await assert_store(store, server.config)  # the old key still writes: nothing rewritten
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert server.hooks.applied[-1] == server.config

    await server.run({"stage": "rotate", "force": False, "skip": False})
    assert (await server.status())["stage"] == "rotate"
    new_prefix = parse_config(server.config).write_prefix
    assert new_prefix != parse_config(boot).write_prefix

    await server.run({"stage": "reencrypt_active", "force": False, "skip": False})
    status = await server.status()
    assert status["stage"] == "reencrypt_finished"
    assert "inactivekeys" not in status  # the old key is gone
    assert parse_config(server.config).write_prefix == new_prefix
    await assert_store(store, server.config)


async def test_rotate_keys_and_provider_switch(store: Datastore, tmp_path: Path) -> None:
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    await seed_values(store, config=boot)
    server = await Node(store, path).start()
    await server.run({"stage": "rotate_keys", "force": False, "skip": False})
    status = await server.status()
    assert status["stage"] == "reencrypt_finished" and "inactivekeys" not in status
    await assert_store(store, server.config)

    for provider in ("secretbox", "aesgcm"):
        await server.close()
        server = await Node(store, path, provider=provider).start()
        await server.run({"stage": "rotate_keys", "force": False, "skip": False})
        cfg = parse_config(server.config)
        assert [p.kind for p in cfg.providers] == [provider, "identity"]
        await assert_store(store, server.config)


async def test_disable_then_enable_with_reencrypt_force_skip(
    store: Datastore, tmp_path: Path
) -> None:
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    await seed_values(store, config=boot)
    server = await Node(store, path).start()

    await server.run({"enable": False, "force": False, "skip": False})
    await server.run({"stage": "reencrypt_active", "force": True, "skip": True})
    status = await server.status()
    assert status["enable"] is False and status["stage"] == "start"
    await assert_store(store, server.config, plaintext=True)

    await server.run({"enable": True, "force": False, "skip": False})
    await server.run({"stage": "reencrypt_active", "force": True, "skip": True})
    status = await server.status()
    assert status["enable"] is True and status["stage"] == "start"
    assert server.config == boot  # same key, same bytes, same hash
    await assert_store(store, server.config)


async def test_enable_on_a_server_without_any_config(store: Datastore, tmp_path: Path) -> None:
    path = tmp_path / "cred/encryption-config.json"
    await seed_values(store)
    server = await Node(store, path).start()
    assert await server.status() == {"stage": "", "activekey": ""}
    await server.run({"enable": True, "force": False, "skip": False})
    assert (await server.status())["enable"] is True
    await assert_store(store, server.config)


async def test_restart_keeps_state_and_rewrites_a_stale_local_file(
    store: Datastore, tmp_path: Path
) -> None:
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    server = await Node(store, path).start()
    await server.run({"stage": "prepare", "force": False, "skip": False})
    prepared = server.config
    path.write_bytes(boot)  # a stale disk copy: the datastore wins
    await server.close()
    again = await Node(store, path).start()
    assert again.config == prepared and again.hooks.applied == [prepared]
    assert (await again.status())["stage"] == "prepare"


async def test_dry_run_changes_nothing_and_redacts(store: Datastore, tmp_path: Path) -> None:
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    server = await Node(store, path).start()
    out = await server.svc.apply(
        {"stage": "prepare", "force": False, "skip": False, "dryRun": True}
    )
    assert out["stage"] == "prepare" and "<redacted secret>" in str(out["config"])
    assert parse_config(boot).providers[0].keys[0].name in str(out["config"])
    import base64

    secret = base64.b64encode(parse_config(boot).providers[0].keys[0].secret.reveal()).decode()
    assert secret not in str(out)
    assert server.config == boot and (await server.status())["stage"] == "start"


async def test_wrong_stage_is_refused_with_the_real_message(
    store: Datastore, tmp_path: Path
) -> None:
    path = tmp_path / "cred/encryption-config.json"
    first_boot(path)
    server = await Node(store, path).start()
    from kcrypt.encryption import IncorrectStage

    with pytest.raises(IncorrectStage, match=r"^incorrect stage: start found on node node-1$"):
        await server.svc.apply({"stage": "rotate", "force": False, "skip": False})


def targets(config: bytes) -> list[Target]:
    tf = transformer_for(config)
    return [Target(PREFIX, tf, parse_config(config).write_prefix)]


async def test_resume_after_cancel_midway(store: Datastore, tmp_path: Path) -> None:
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    await seed_values(store, config=boot)
    gate = asyncio.Event()

    class Pausing:
        """Delegates to the store; the pass stalls after its second page is written,
        so the cancel below always lands midway (no race with a fast engine)."""

        def __init__(self) -> None:
            self.pages = 0

        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        async def txn_put(self, puts):  # type: ignore[no-untyped-def]
            if any(p.key.startswith(PREFIX) for p in puts):
                if self.pages == 2:
                    gate.set()
                    await asyncio.Event().wait()  # until cancelled
                self.pages += 1
            return await store.txn_put(puts)

    server = await Node(Pausing(), path).start()  # type: ignore[arg-type]
    await server.svc.apply(body("rotate-keys"))
    await asyncio.wait_for(gate.wait(), 30)
    await server.close()  # cancelled after 2 pages
    values = await raw(store)
    target = parse_config(server.config).write_prefix.encode()
    done = sum(v.startswith(target) for v in values.values())
    assert 0 < done < N
    again = Node(store, path)
    status = await again.status()
    assert status["stage"] == "reencrypt_active" and status["reencrypt"]["done"] == 50

    await again.start()  # resumes from the checkpoint
    await again.settle()
    assert (await again.status())["stage"] == "reencrypt_finished"
    await assert_store(store, again.config)
    ckpt = await store.get(CHECKPOINT_KEY)
    assert ckpt is not None and b'"finished":true' in ckpt.value
    assert b'"done":120' in ckpt.value  # the resumed pass did not start over


async def test_concurrent_writer_is_skipped_and_ends_under_the_new_key(
    store: Datastore, tmp_path: Path
) -> None:
    k0, k1 = await seed_under_one_key(store)
    new = render_config(KeyConfig((ProviderKeys("aescbc", (k1, k0)), ProviderKeys("identity"))))
    tf = transformer_for(new)
    victim = f"{PREFIX}ns0/s00000"

    class Racing:
        """Delegates to the store; a writer updates the victim right before the first txn."""

        def __init__(self) -> None:
            self.raced = False

        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        async def txn_put(self, puts):  # type: ignore[no-untyped-def]
            if not self.raced and any(p.key == victim for p in puts):
                self.raced = True
                kv = await store.get(victim)
                assert kv is not None
                value = tf.to_storage(b"k8s\x00written-by-someone", context=victim.encode())
                assert (await store.update(victim, value, mod_revision=kv.mod_revision)).ok
            return await store.txn_put(puts)

    engine = Reencryptor(Racing(), targets(new), config_hash="h", page_size=50)  # type: ignore[arg-type]
    result = await engine.run()
    assert result.skipped == 1 and result.rewritten == N - 1 and result.done == N
    values = await raw(store)
    assert all(v.startswith(f"k8s:enc:aescbc:v1:{k1.name}:".encode()) for v in values.values())
    assert (
        tf.from_storage(values[victim], context=victim.encode()).plaintext
        == b"k8s\x00written-by-someone"
    )


async def test_key_removal_refused_with_counts_while_a_value_uses_it(
    store: Datastore, tmp_path: Path
) -> None:
    k0, k1 = await seed_under_one_key(store)
    config = KeyConfig((ProviderKeys("aescbc", (k1, k0)), ProviderKeys("identity")))
    names = [k.name for k in (k0, k1)]
    usage = await scan_key_usage(store, PREFIX, known_names=names, page_size=7)
    assert usage == {key_prefix("aescbc", k0.name): N}
    with pytest.raises(KeyInUse) as err:
        check_removable(usage, [("aescbc", k0.name)], prefix=PREFIX)
    assert f"refusing to remove key {k0.name}" in str(err.value)
    assert f"{key_prefix('aescbc', k0.name)}: {N}" in str(err.value)
    # after a pass everything moved: the removal is allowed
    await Reencryptor(store, targets(render_config(config)), config_hash="h").run()
    usage = await scan_key_usage(store, PREFIX, known_names=names)
    check_removable(usage, [("aescbc", k0.name)], prefix=PREFIX)
    assert usage == {key_prefix("aescbc", k1.name): N}


async def test_an_undisturbed_pass_records_its_rewrites_as_one_revision_range(
    store: Datastore,
) -> None:
    """Between two pages the pass saves its checkpoint (a revision too); counting those
    saves as the pass's own writes keeps the proof's exclusion list at one range instead
    of one per page (100 ranges at 100k values made the proof 10x slower)."""
    k0, k1 = await seed_under_one_key(store)
    config = KeyConfig((ProviderKeys("aescbc", (k1, k0)), ProviderKeys("identity")))
    ckpt = await Reencryptor(
        store, targets(render_config(config)), config_hash="h", page_size=7
    ).run()
    assert ckpt.rewritten == N and len(ckpt.written) == 1
    (first, last) = ckpt.written[0]
    assert ckpt.start_revision < first and last - first + 1 >= N


async def test_controller_keeps_the_old_key_when_a_value_written_during_the_pass_uses_it(
    store: Datastore, tmp_path: Path
) -> None:
    """A writer that still encrypts with the old key (a server cut off from the
    cluster) writes behind the pass: the proof finds it, and the key stays."""
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    await seed_values(store, config=boot)
    server = await Node(store, path).start()
    await server.run(body("prepare"))
    await server.run(body("rotate"))
    rotated = server.config
    old = transformer_for(boot)
    rogue = f"{PREFIX}ns0/a-rogue"  # sorts before every value: behind the pass at once

    class Rogue:
        """Delegates to the store; one old-key write lands after the pass's first page."""

        def __init__(self) -> None:
            self.done = False

        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        async def txn_put(self, puts):  # type: ignore[no-untyped-def]
            result = await store.txn_put(puts)
            if not self.done and any(p.key.startswith(PREFIX) for p in puts):
                self.done = True
                await store.create(rogue, old.to_storage(original(999), context=rogue.encode()))
            return result

    await server.close()
    server = await Node(Rogue(), path).start()  # type: ignore[arg-type]
    await server.run(body("reencrypt"))
    status = await server.status()
    assert status["stage"] == "reencrypt_active"
    assert "refusing to remove key" in status["reencrypt"]["error"]
    assert status["controller"]["reason"] == "reencrypt-failed"
    assert server.config == rotated  # both keys kept: nothing became unreadable
    values = await raw(store)
    tf = transformer_for(server.config)
    for key, value in values.items():
        tf.from_storage(value, context=key.encode())
