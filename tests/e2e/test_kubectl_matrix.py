"""The real kubectl against ``kcrypt server``: the commands issue 14 found missing.

Every command's exit code and output are checked, as an operator would see
them: server-side apply with two field managers (a conflict, then
``--force-conflicts``), ``explain``, ``describe``, ``auth can-i`` and ``auth
whoami``, ``get all``, ``cluster-info``, ``version``, and a namespace deleted
while a finalizer holds it, followed through ``kubectl get ns -w``.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

from .harness import JsonStream, KcryptServer, Kubectl


def run(kubectl: Kubectl, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        kubectl.argv(*args),
        input=stdin,
        capture_output=True,
        text=True,
        env=kubectl.env(),
        timeout=60,
    )


SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ssa\nstringData:\n  user: {user}\n"


def test_server_side_apply_with_two_managers_conflicts_then_force_takes_over(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    first = tmp_path / "first.yaml"
    first.write_text(SECRET.format(user="alice"))
    r = run(kubectl, "apply", "--server-side", "-f", str(first))
    assert (r.returncode, r.stdout) == (0, "secret/ssa serverside-applied\n")
    second = tmp_path / "second.yaml"
    second.write_text(SECRET.format(user="bob"))
    r = run(kubectl, "apply", "--server-side", "--field-manager=other", "-f", str(second))
    assert r.returncode == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .data.user' in r.stderr
    assert "--force-conflicts" in r.stderr
    r = run(
        kubectl,
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        str(second),
    )
    assert (r.returncode, r.stdout) == (0, "secret/ssa serverside-applied\n")
    got = kubectl.json("get", "secret", "ssa", "--show-managed-fields")
    assert base64.b64decode(got["data"]["user"]) == b"bob"
    managers = [(m["manager"], m["operation"]) for m in got["metadata"]["managedFields"]]
    assert managers == [("other", "Apply")]
    r = run(
        kubectl,
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        str(first),
        "--field-manager=other",
    )
    assert (r.returncode, r.stdout) == (0, "secret/ssa serverside-applied (server dry run)\n")


def test_explain_secret_data_with_v3_and_with_v2(kubectl: Kubectl) -> None:
    r = run(kubectl, "explain", "secret.data")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(
        "KIND:       Secret\nVERSION:    v1\n\nFIELD: data <map[string]string>"
    )
    assert "base64" in r.stdout
    r = run(kubectl, "explain", "secret.data", "--output=plaintext-openapiv2")
    assert r.returncode == 0, r.stderr
    assert "FIELD:    data <map[string]string>" in r.stdout
    r = run(kubectl, "explain", "secret.nope")
    assert r.returncode == 1 and 'field "nope" does not exist' in r.stderr


def test_client_side_validation_uses_the_schemas(kubectl: Kubectl) -> None:
    """A List goes through kubectl's client-side validation with the v2 document."""
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "v"}, "dta": {}}]
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    r = run(kubectl, "create", "-f", "-", stdin=doc)
    assert r.returncode == 1 and 'unknown field "dta"' in r.stderr


def test_describe_configmap_and_namespace(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "described", "--from-literal=k=v")
    r = run(kubectl, "describe", "configmap", "described")
    assert r.returncode == 0, r.stderr
    assert "Name:         described" in r.stdout and "Events:  <none>" in r.stdout
    r = run(kubectl, "describe", "namespace", "default")
    assert r.returncode == 0, r.stderr
    assert "Status:       Active" in r.stdout


def test_auth_can_i_and_whoami(kubectl: Kubectl) -> None:
    r = run(kubectl, "auth", "can-i", "create", "secrets")
    assert (r.returncode, r.stdout) == (0, "yes\n")
    r = run(kubectl, "auth", "whoami")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == [
        "ATTRIBUTE   VALUE",
        "Username    system:admin",
        "Groups      [system:masters system:authenticated]",
    ]


def test_get_all_cluster_info_and_version(kubectl: Kubectl, encrypted_server: KcryptServer) -> None:
    r = run(kubectl, "get", "all")
    assert (r.returncode, r.stdout, r.stderr) == (
        0,
        "",
        "No resources found in default namespace.\n",
    )
    r = run(kubectl, "get", "all", "-A")
    assert (r.returncode, r.stderr) == (0, "No resources found\n")
    r = run(kubectl, "cluster-info")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"Kubernetes control plane is running at {encrypted_server.url}\n")
    r = run(kubectl, "version")
    assert r.returncode == 0, r.stderr
    assert "Server Version: v1.32.0+kcrypt-" in r.stdout
    assert "WARNING" not in r.stderr


def test_a_namespace_held_by_a_finalizer_through_get_ns_w(kubectl: Kubectl) -> None:
    kubectl.run("create", "namespace", "held")
    kubectl.run(
        "patch",
        "namespace",
        "held",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":["example.com/hold"]}}',
    )
    kubectl.run("create", "secret", "generic", "inside", "-n", "held", "--from-literal=a=b")
    watcher = kubectl.popen("get", "namespace", "held", "-w", "--output-watch-events", "-o", "json")
    stream = JsonStream(watcher)
    try:
        assert stream.next()["object"]["status"]["phase"] == "Active"
        r = run(kubectl, "delete", "namespace", "held", "--wait=false")
        assert (r.returncode, r.stdout) == (0, 'namespace "held" deleted\n')
        event = stream.next()
        assert (event["type"], event["object"]["status"]["phase"]) == ("MODIFIED", "Terminating")
        # the content goes, the namespace stays while its finalizer is there
        for _ in range(100):
            if "No resources found" in run(kubectl, "get", "secrets", "-n", "held").stderr:
                break
        r = run(kubectl, "create", "configmap", "late", "-n", "held")
        assert r.returncode == 1 and "because it is being terminated" in r.stderr
        kubectl.run(
            "patch",
            "namespace",
            "held",
            "--type=json",
            "-p",
            '[{"op":"remove","path":"/metadata/finalizers"}]',
        )
        while (event := stream.next(timeout=30))["type"] != "DELETED":
            assert event["object"]["status"]["phase"] == "Terminating"
    finally:
        stream.close()
    r = run(kubectl, "get", "namespace", "held")
    assert r.returncode == 1 and 'namespaces "held" not found' in r.stderr
