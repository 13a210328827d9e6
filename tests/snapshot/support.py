"""A cluster's datastore as a kcrypt server leaves it: secrets encrypted with its
config and the token-sealed encryption state beside them."""

from __future__ import annotations

import base64
import json
import os

from kcrypt.codec import encode_storage, storage_key
from kcrypt.datastore import Datastore, PutIf
from kcrypt.encryption import (
    STATE_KEY,
    ConfigKey,
    EncryptionState,
    KeyConfig,
    ProviderKeys,
    Stage,
    StateStore,
    config_sha256,
    render_config,
    transformer_for,
)
from kcrypt.encryption.sealing import TokenSealer
from kcrypt.sensitive import SecretBytes

TOKEN = "snapshot-test-token-" + "5" * 40


def key(name: str) -> ConfigKey:
    return ConfigKey(name, SecretBytes(os.urandom(32)))


def enabled(*keys: ConfigKey) -> bytes:
    return render_config(KeyConfig((ProviderKeys("aescbc", keys), ProviderKeys("identity"))))


def disabled(*keys: ConfigKey) -> bytes:
    return render_config(KeyConfig((ProviderKeys("identity"), ProviderKeys("aescbc", keys))))


def secret(name: str, value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default", "uid": "u-" + name},
        "type": "Opaque",
        "data": {"v": base64.b64encode(value.encode()).decode()},
    }


async def write_secrets(ds: Datastore, config: bytes, values: dict[str, str]) -> None:
    """Create or overwrite ``values`` (name -> text) encrypted with ``config``."""
    tf = transformer_for(config)
    puts = []
    for name, value in values.items():
        k = storage_key("secrets", "default", name)
        cur = await ds.get(k)
        data = tf.to_storage(encode_storage(secret(name, value)), context=k.encode())
        puts.append(PutIf(k, data, cur.mod_revision if cur else 0))
    assert all((await ds.txn_put(puts)).succeeded)


async def set_state(ds: Datastore, config: bytes, *, token: str = TOKEN) -> None:
    store = StateStore(ds, sealer=TokenSealer(token, record_key=STATE_KEY))
    old, rev = await store.load()
    gen = old.generation + 1 if old else 1
    state = EncryptionState(
        config=config,
        stage=Stage.START,
        config_hash=config_sha256(config),
        provider="aescbc",
        generation=gen,
    )
    await store.save(state, mod_revision=rev)


async def read_secrets(ds: Datastore, config: bytes) -> dict[str, str]:
    """Every secret's value, decrypted with ``config`` (as a server with it would)."""
    from kcrypt.codec import decode_storage

    tf = transformer_for(config)
    page = await ds.range("/registry/secrets/")
    out = {}
    for kv in page.kvs:
        obj = decode_storage(tf.from_storage(kv.value, context=kv.key.encode()).plaintext)
        out[obj["metadata"]["name"]] = base64.b64decode(obj["data"]["v"]).decode()
    return out


def key_names(config: bytes) -> list[str]:
    doc = json.loads(config)
    return [
        k["name"]
        for p in doc["resources"][0]["providers"]
        for k in next(iter(p.values())).get("keys", [])
    ]
