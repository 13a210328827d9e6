"""Namespace /status, /finalize and deletion through Terminating, as upstream serves them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from ._support import assert_status, configmap, secret

NS = "/api/v1/namespaces"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def make(client: httpx.AsyncClient, name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name}}
    if spec:
        body["spec"] = spec
    r = await client.post(NS, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_status_is_read_patched_and_updated_and_keeps_the_spec(
    client: httpx.AsyncClient,
) -> None:
    await make(client, "team")
    status = (await client.get(f"{NS}/team/status")).json()
    assert status["status"]["phase"] == "Active"
    condition = {"type": "StatusPatch", "status": "True", "reason": "E2E", "message": "patched"}
    r = await client.patch(
        f"{NS}/team/status",
        content=json.dumps(
            {
                "metadata": {"annotations": {"patched": "yes"}},
                "status": {"conditions": [condition]},
                "spec": {"finalizers": []},  # ignored by /status
            }
        ),
        headers=MERGE,
    )
    body = r.json()
    assert body["metadata"]["annotations"] == {"patched": "yes"}
    assert body["status"]["conditions"][-1]["reason"] == "E2E"
    assert body["spec"]["finalizers"] == ["kubernetes"]
    (entry,) = [m for m in body["metadata"]["managedFields"] if m.get("subresource")]
    assert entry["subresource"] == "status"
    body["status"]["phase"] = "Terminating"
    r = await client.put(f"{NS}/team/status", json=body)
    assert_status(r.json(), code=422, reason="Invalid")
    assert r.json()["message"] == (
        'Namespace "team" is invalid: status.Phase: Invalid value: "Terminating": may only be '
        "'Active' if `deletionTimestamp` is empty"
    )


async def test_the_main_resource_ignores_spec_and_status_and_finalize_changes_finalizers(
    client: httpx.AsyncClient,
) -> None:
    ns = await make(client, "team")
    ns["spec"]["finalizers"] = []
    ns["status"]["phase"] = "Terminating"
    kept = (await client.put(f"{NS}/team", json=ns)).json()
    assert kept["spec"]["finalizers"] == ["kubernetes"] and kept["status"]["phase"] == "Active"
    kept["spec"]["finalizers"].append("e2e.example.com/fake")
    kept["status"]["phase"] = "Terminating"  # /finalize keeps the stored status
    r = await client.put(f"{NS}/team/finalize", json=kept)
    assert r.json()["spec"]["finalizers"] == ["kubernetes", "e2e.example.com/fake"]
    assert r.json()["status"]["phase"] == "Active"
    bad = r.json()
    bad["spec"]["finalizers"] = ["plain"]
    r = await client.put(f"{NS}/team/finalize", json=bad)
    assert r.json()["message"] == (
        'Namespace "team" is invalid: spec.finalizers[0]: Invalid value: "plain": name is '
        "neither a standard finalizer name nor is it fully qualified"
    )
    assert (await client.get(f"{NS}/team/finalize")).status_code == 405


async def test_deletion_empties_the_namespace_then_waits_for_other_finalizers(
    client: httpx.AsyncClient, app: Any
) -> None:
    await make(client, "doomed", finalizers=["kubernetes", "example.com/hold"])
    await client.post(f"{NS}/doomed/secrets", json=secret("s", namespace="doomed"))
    held = configmap("held", namespace="doomed")
    held["metadata"]["finalizers"] = ["example.com/cm"]
    await client.post(f"{NS}/doomed/configmaps", json=held)
    app.state.namespaces.retry = 0.01
    r = await client.delete(f"{NS}/doomed")
    assert r.json()["kind"] == "Namespace" and r.json()["status"]["phase"] == "Terminating"
    assert r.json()["metadata"]["deletionTimestamp"]
    # the configmap's own finalizer holds it: the controller reports and retries
    for _ in range(200):
        ns = (await client.get(f"{NS}/doomed")).json()
        remaining = {c["type"]: c for c in ns["status"].get("conditions") or []}
        if remaining.get("NamespaceFinalizersRemaining", {}).get("status") == "True":
            break
        await asyncio.sleep(0.01)  # the controller runs on this loop
    assert remaining["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances"
    )
    assert remaining["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/cm in 1 resource "
        "instances"
    )
    cm = (await client.get(f"{NS}/doomed/configmaps/held")).json()
    assert cm["metadata"]["deletionTimestamp"]
    cm["metadata"]["finalizers"] = []
    await client.put(f"{NS}/doomed/configmaps/held", json=cm)  # let go: it is deleted
    await app.state.namespaces.settle()
    ns = (await client.get(f"{NS}/doomed")).json()
    assert ns["spec"]["finalizers"] == ["example.com/hold"]  # ours is done, theirs is not
    assert ns["status"]["phase"] == "Terminating"
    ns["spec"]["finalizers"] = []
    r = await client.put(f"{NS}/doomed/finalize", json=ns)
    assert r.status_code == 200
    assert (await client.get(f"{NS}/doomed")).status_code == 404
