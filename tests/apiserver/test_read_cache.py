"""GET over HTTP with the storage read cache: each representation stays itself,
and a change, a delete or a key swap shows at once."""

from __future__ import annotations

import httpx
import yaml

from kcrypt import codec
from kcrypt.config import build_transformers, generate
from kcrypt.storage import TransformerRegistry

from ._support import SECRETS, b64, secret

PROTOBUF = {"Accept": "application/vnd.kubernetes.protobuf"}
YAML = {"Accept": "application/yaml"}
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


async def test_repeat_gets_in_every_representation_stay_correct(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SECRETS, json=secret("s1", a="b"))
    for _ in range(2):  # the second round is served from the cache
        as_json = await client.get(f"{SECRETS}/s1")
        as_pb = await client.get(f"{SECRETS}/s1", headers=PROTOBUF)
        as_yaml = await client.get(f"{SECRETS}/s1", headers=YAML)
        table = await client.get(f"{SECRETS}/s1", headers=TABLE)
        assert as_json.headers["content-type"] == "application/json"
        assert as_pb.headers["content-type"] == "application/vnd.kubernetes.protobuf"
        assert as_yaml.headers["content-type"] == "application/yaml"
        assert table.json()["kind"] == "Table"
        obj = as_json.json()
        assert obj["data"] == {"a": b64("b")}
        from_pb = codec.decode_storage(as_pb.content)
        assert from_pb["data"] == obj["data"]
        assert yaml.safe_load(as_yaml.content) == obj


async def test_replace_and_delete_show_on_the_next_get(client: httpx.AsyncClient) -> None:
    created = (await client.post(SECRETS, json=secret("s1", a="old"))).json()
    await client.get(f"{SECRETS}/s1")
    replaced = (await client.put(f"{SECRETS}/s1", json=secret("s1", a="new"))).json()
    got = (await client.get(f"{SECRETS}/s1")).json()
    assert got["data"] == {"a": b64("new")}
    assert got["metadata"]["resourceVersion"] == replaced["metadata"]["resourceVersion"]
    assert got["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    assert (await client.delete(f"{SECRETS}/s1")).status_code == 200
    assert (await client.get(f"{SECRETS}/s1")).status_code == 404


async def test_a_key_swap_is_seen_by_the_next_get(
    client: httpx.AsyncClient, registry: TransformerRegistry
) -> None:
    await client.post(SECRETS, json=secret("s1", a="b"))
    assert (await client.get(f"{SECRETS}/s1")).status_code == 200
    registry.swap(build_transformers(generate("aescbc", key_name="unrelated")))
    r = await client.get(f"{SECRETS}/s1")
    assert r.status_code == 500
    assert b64("b") not in r.text
