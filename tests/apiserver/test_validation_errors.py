"""Bad input gets kube-apiserver's Status: reason, code, message and field causes."""

from __future__ import annotations

import httpx
import pytest

from kcrypt.storage import ObjectStore

from ._support import CONFIGMAPS, SECRETS, assert_status, b64, configmap, secret

CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
    "'[-._a-zA-Z0-9]+')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


async def test_bad_data_key_is_422_with_the_field_cause(client: httpx.AsyncClient) -> None:
    obj = secret("s1")
    obj["data"] = {"a b": b64("x")}
    r = await client.post(SECRETS, json=obj)
    assert r.status_code == 422
    body = r.json()
    assert_status(body, code=422, reason="Invalid")
    assert (
        body["message"]
        == f'Secret "s1" is invalid: data[a b]: Invalid value: "a b": {CONFIG_KEY_MSG}'
    )
    assert body["details"] == {
        "name": "s1",
        "kind": "Secret",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": f'Invalid value: "a b": {CONFIG_KEY_MSG}',
                "field": "data[a b]",
            }
        ],
    }


async def test_bad_name_and_several_causes_are_bracketed(client: httpx.AsyncClient) -> None:
    obj = secret("Bad_Name")
    obj["data"] = {"..x": b64("1")}
    body = (await client.post(SECRETS, json=obj)).json()
    assert body["code"] == 422
    assert body["message"] == (
        'Secret "Bad_Name" is invalid: [metadata.name: Invalid value: "Bad_Name": '
        f"{SUBDOMAIN_MSG}, data[..x]: Invalid value: \"..x\": must not start with '..']"
    )
    assert [c["field"] for c in body["details"]["causes"]] == ["metadata.name", "data[..x]"]


async def test_missing_name(client: httpx.AsyncClient) -> None:
    obj = secret("")
    body = (await client.post(SECRETS, json=obj)).json()
    assert body["code"] == 422
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value: name or generateName is required",
            "field": "metadata.name",
        }
    ]


async def test_secret_over_one_mebibyte_is_too_long(client: httpx.AsyncClient) -> None:
    obj = secret("big")
    obj["data"] = {"a": b64("x" * (1024 * 1024)), "b": b64("y")}
    body = (await client.post(SECRETS, json=obj)).json()
    assert body["code"] == 422
    assert body["message"] == (
        'Secret "big" is invalid: data: Too long: may not be more than 1048576 bytes'
    )


async def test_tls_secret_needs_its_keys(client: httpx.AsyncClient) -> None:
    obj = secret("tls")
    obj["type"] = "kubernetes.io/tls"
    body = (await client.post(SECRETS, json=obj)).json()
    assert [c["field"] for c in body["details"]["causes"]] == ["data[tls.crt]", "data[tls.key]"]


async def test_bad_label_value(client: httpx.AsyncClient) -> None:
    obj = secret("s1")
    obj["metadata"]["labels"] = {"app": "no spaces"}
    body = (await client.post(SECRETS, json=obj)).json()
    assert body["code"] == 422
    assert body["details"]["causes"][0]["field"] == "metadata.labels"


async def test_strict_field_validation_rejects_unknown_fields(client: httpx.AsyncClient) -> None:
    obj = secret("s1")
    obj["spec"] = {"x": 1}
    r = await client.post(f"{SECRETS}?fieldValidation=Strict", json=obj)
    assert r.status_code == 400
    body = r.json()
    assert_status(body, code=400, reason="BadRequest")
    assert body["message"] == 'strict decoding error: unknown field "spec"'


async def test_warn_field_validation_drops_unknown_fields_with_a_warning(
    client: httpx.AsyncClient,
) -> None:
    obj = secret("s1")
    obj["spec"] = {"x": 1}
    r = await client.post(SECRETS, json=obj)
    assert r.status_code == 201
    assert "spec" not in r.json()
    assert r.headers["warning"] == '299 - "unknown field \\"spec\\""'


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
        ("application/json", b""),
        ("application/vnd.kubernetes.protobuf", b"k8s\x00\xff\xff\xff garbage"),
        ("application/vnd.kubernetes.protobuf", b"not protobuf at all"),
    ],
)
async def test_malformed_bodies_are_400(
    client: httpx.AsyncClient, content_type: str, body: bytes
) -> None:
    r = await client.post(SECRETS, content=body, headers={"Content-Type": content_type})
    assert r.status_code == 400, r.text
    assert_status(r.json(), code=400, reason="BadRequest")


async def test_wrong_kind_in_the_body_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(SECRETS, json=configmap("c"))
    assert r.status_code == 400
    assert "must be of type Secret" in r.json()["message"]


async def test_unsupported_content_type_is_415(client: httpx.AsyncClient) -> None:
    r = await client.post(SECRETS, content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert_status(r.json(), code=415, reason="UnsupportedMediaType")


async def test_unknown_paths_and_methods(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/namespaces/default/pods")
    assert r.status_code == 404
    assert r.json()["message"] == "the server could not find the requested resource"
    r = await client.post("/api/v1/secrets", json=secret("x"))
    assert r.status_code == 405
    assert_status(r.json(), code=405, reason="MethodNotAllowed")
    r = await client.post(f"{SECRETS}/s1", json=secret("s1"))
    assert r.status_code == 405


async def test_not_acceptable(client: httpx.AsyncClient) -> None:
    r = await client.get(SECRETS, headers={"Accept": "text/html"})
    assert r.status_code == 406
    assert_status(r.json(), code=406, reason="NotAcceptable")


async def test_undecryptable_value_is_a_500_without_secret_data(
    client: httpx.AsyncClient, store: ObjectStore
) -> None:
    from kcrypt.config import build_transformers, generate

    await client.post(SECRETS, json=secret("s1", password="hunter2"))
    store.transformers.swap(build_transformers(generate("aescbc", key_name="other")))
    r = await client.get(f"{SECRETS}/s1")
    assert r.status_code == 500
    body = r.json()
    assert_status(body, code=500, reason="InternalError")
    assert "/registry/secrets/default/s1" in body["message"]
    assert "hunter2" not in r.text and b64("hunter2") not in r.text


async def test_configmap_key_rules_and_binary_data_duplicates(client: httpx.AsyncClient) -> None:
    obj = configmap("c", k="v")
    obj["binaryData"] = {"k": b64("v")}
    body = (await client.post(CONFIGMAPS, json=obj)).json()
    assert body["code"] == 422
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "k": duplicate of key present in binaryData',
            "field": "data[k]",
        }
    ]


async def test_immutable_configmap(client: httpx.AsyncClient) -> None:
    obj = configmap("c", k="v")
    obj["immutable"] = True
    created = (await client.post(CONFIGMAPS, json=obj)).json()
    r = await client.put(f"{CONFIGMAPS}/c", json=dict(created, data={"k": "changed"}))
    assert r.status_code == 422
    assert r.json()["message"] == (
        'ConfigMap "c" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )
    r = await client.put(f"{CONFIGMAPS}/c", json=dict(created, immutable=False))
    assert r.json()["details"]["causes"][0]["field"] == "immutable"
