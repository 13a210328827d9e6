"""kcrypt servers driven the RKE way: each loads its own ``--encryption-provider-config``
file, and ``kcrypt up`` (a real subprocess) changes those files.

Every server starts on an identity-only file (what kube-apiserver without
encryption amounts to). Node ``s1`` is written directly (``local: true``);
the others are reached through a real sshd on 127.0.0.1 when one is given.
The raw datastore is read with etcdctl or sqlite3, never through kcrypt.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from e2e.harness import KcryptServer, Kubectl, kcrypt_command
from e2e.secrets_support import etcd_secrets, sqlite_secrets

from .independent import key_under
from .sshd import SSHServer

TOKEN = "rke-test-token-" + "5" * 40
IDENTITY_ONLY = b"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources:
  - secrets
  providers:
  - identity: {}
"""


@dataclass
class RkeCluster:
    base: Path
    servers: list[KcryptServer] = field(default_factory=list)
    etcd_url: str | None = None
    etcd_endpoints: str | None = None
    ssh: SSHServer | None = None

    @classmethod
    def start(
        cls,
        base: Path,
        n: int,
        *,
        etcd_url: str | None = None,
        etcd_endpoints: str | None = None,
        ssh: SSHServer | None = None,
    ) -> RkeCluster:
        cluster = cls(base, etcd_url=etcd_url, etcd_endpoints=etcd_endpoints, ssh=ssh)
        base.mkdir(parents=True, exist_ok=True)
        try:
            for i in range(n):
                name = f"s{i + 1}"
                cfg = cluster.config_file(i)
                cfg.write_bytes(IDENTITY_ONLY)
                cfg.chmod(0o600)
                args = ["--encryption-provider-config", str(cfg), "--reload-interval", "0.2"]
                args += ["--token", TOKEN, "--node-name", name]
                if etcd_url:
                    args += ["--datastore-endpoint", etcd_url]
                cluster.servers.append(KcryptServer(base / name, args=args).start())
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def config_file(self, i: int) -> Path:
        return self.base / f"s{i + 1}-encryption.yaml"

    @property
    def cluster_yml(self) -> Path:
        return self.base / "cluster.yml"

    @property
    def state_file(self) -> Path:
        return self.base / "cluster.rkestate"

    def kubectl(self, i: int = 0) -> Kubectl:
        return Kubectl(self.servers[i].kubeconfig, self.base / f"kubectl-cache-{i}")

    def write_cluster_yml(
        self, encryption: dict[str, Any] | None, *, extra: dict[str, Any] | None = None
    ) -> None:
        nodes = []
        for i, server in enumerate(self.servers):
            own: dict[str, Any] = {
                "api_server_url": server.url,
                "encryption_config_path": str(self.config_file(i)),
                "kubeconfig": str(server.kubeconfig),
            }
            node: dict[str, Any] = {
                "address": "127.0.0.1",
                "hostname_override": f"s{i + 1}",
                "role": ["controlplane", "etcd"] if i == 0 else ["controlplane", "worker"],
                "docker_socket": "/var/run/docker.sock",
            }
            if i == 0 or self.ssh is None:
                own["local"] = True
            else:
                node.update(user="root", port=self.ssh.port, ssh_key_path=str(self.ssh.client_key))
            node["kcrypt"] = own
            nodes.append(node)
        doc: dict[str, Any] = {
            "nodes": nodes,
            "ignore_docker_version": True,
            "kcrypt": {
                "kubeconfig": str(self.servers[0].kubeconfig),
                "proof_timeout": 90,
                **({"known_hosts": str(self.ssh.known_hosts)} if self.ssh else {}),
                **((extra or {}).get("kcrypt") or {}),
            },
            "services": {"kube-api": {"extra_binds": ["/var/run/kmsplugin/:/var/run/kmsplugin/"]}},
        }
        if encryption is not None:
            doc["services"]["kube-api"]["secrets_encryption_config"] = encryption
        for key, value in (extra or {}).items():
            if key != "kcrypt":
                doc[key] = value
        self.cluster_yml.write_text(yaml.safe_dump(doc, sort_keys=False))

    def write_cluster_text(self, services: str) -> None:
        """cluster.yml = this cluster's nodes and kcrypt block, then ``services`` verbatim."""
        self.write_cluster_yml(None)
        doc = yaml.safe_load(self.cluster_yml.read_text())
        doc.pop("services")
        self.cluster_yml.write_text(yaml.safe_dump(doc, sort_keys=False) + services)

    def kcrypt(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*kcrypt_command(), *args, "--config", str(self.cluster_yml)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
        )
        if check and proc.returncode != 0:
            logs = "\n".join(s.log()[-1500:] for s in self.servers)
            raise AssertionError(
                f"kcrypt {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}\n{logs}"
            )
        return proc

    def up(self, *args: str) -> str:
        return self.kcrypt("up", *args).stdout

    def loaded_hash(self, i: int) -> str:
        """The config hash server ``i`` says it runs (its /metrics)."""
        with self.servers[i].client() as c:
            text = c.get("/metrics").text
        found = re.findall(
            r'apiserver_encryption_config_controller_last_config_info\{[^}]*hash="([^"]+)"', text
        )
        assert len(found) == 1, found
        return str(found[0])

    # -- what is stored --------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The state file as JSON ({} before the first ``kcrypt up``)."""
        if not self.state_file.exists():
            return {}
        doc: dict[str, Any] = json.loads(self.state_file.read_text())
        return doc

    def all_keys(self) -> dict[tuple[str, str], str]:
        """Every key the state file holds: current, desired and retired."""
        doc = self.state()
        keys: dict[tuple[str, str], str] = {}
        for which in ("currentState", "desiredState"):
            keys.update(config_keys(doc.get(which, {}).get("encryptionConfig") or ""))
        for k in doc.get("kcrypt", {}).get("retiredKeys") or []:
            keys[(k["provider"], k["name"])] = k["secret"]
        return keys

    def raw(self) -> dict[str, bytes]:
        """Every stored secret and configmap value, read with etcdctl or sqlite3."""
        prefixes = ("/registry/secrets/", "/registry/configmaps/")
        if self.etcd_endpoints:
            endpoints = self.etcd_endpoints
            return {k: v for p in prefixes for k, v in etcd_secrets(endpoints, p).items()}
        db = self.servers[0].data_dir / "server" / "db" / "state.db"
        return {k: v for p in prefixes for k, v in sqlite_secrets(db, p).items()}

    def keys_under(self) -> dict[str, str]:
        keys = self.all_keys()
        return {k: key_under(v, k, keys) for k, v in self.raw().items()}

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


def config_keys(text: str) -> dict[tuple[str, str], str]:
    """``{(provider, name): secret}`` read from a rendered EncryptionConfiguration."""
    out: dict[tuple[str, str], str] = {}
    if not text:
        return out
    for entry in yaml.safe_load(text).get("resources") or []:
        for provider in entry.get("providers") or []:
            for kind in ("aescbc", "aesgcm", "secretbox"):
                for k in (provider.get(kind) or {}).get("keys") or []:
                    out[(kind, k["name"])] = k["secret"]
    return out


def write_key(text: str, resource: str) -> str:
    """The name of the key that writes ``resource`` in a rendered config, or ``identity``."""
    for entry in yaml.safe_load(text).get("resources") or []:
        if resource in entry.get("resources") or []:
            first = entry["providers"][0]
            for kind in ("aescbc", "aesgcm", "secretbox"):
                if kind in first:
                    return str(first[kind]["keys"][0]["name"])
            return "identity"
    return "identity"
