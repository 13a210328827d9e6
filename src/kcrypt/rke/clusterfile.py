"""cluster.yml: RKE's schema, read for what kcrypt acts on.

kcrypt acts on ``nodes`` (controlplane ones), ``services.kube-api.
secrets_encryption_config``, ``rotate_encryption_key`` and the SSH settings.
Every other RKE field is accepted and reported once in :attr:`ClusterSpec.
ignored`; a field RKE does not have is refused (see :mod:`kcrypt.rke.schema`).

kcrypt's own settings live in a ``kcrypt:`` block, at the top (for every
node) or in a node (for that node)::

    kcrypt:
      kubeconfig: kube_config_cluster.yml   # credentials for /metrics, /readyz, the rewrite
      api_server_port: 6443                 # https://<address>:<port> per node
      encryption_config_path: /etc/kubernetes/ssl/encryption.yaml
      restart_command: ""                   # for API servers without automatic reload
      known_hosts: ~/.ssh/known_hosts       # SSH host keys are checked
      proof_timeout: 120
      rewrite: {page_size: 500, concurrency: 16, rate_limit: 0}
    nodes:
    - address: 10.0.0.1
      role: [controlplane, etcd]
      kcrypt: {api_server_url: https://10.0.0.1:6443, local: false}

Relative paths are taken from the folder that holds cluster.yml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kcrypt.rke.errors import ClusterFileError
from kcrypt.rke.fields import (
    check_fields,
    known_hosts,
    mapping,
    number,
    path_value,
    truth,
    unknown_fields,
    url_host,
)
from kcrypt.rke.schema import (
    KUBE_API_FIELDS,
    NODE_FIELDS,
    SECRETS_ENCRYPTION_FIELDS,
    SERVICES_FIELDS,
    TOP_FIELDS,
)

__all__ = [
    "DEFAULT_API_SERVER_PORT",
    "DEFAULT_CONFIG_PATH",
    "ClusterSpec",
    "EncryptionSpec",
    "NodeSpec",
    "RewriteSpec",
    "load_cluster_file",
    "parse_cluster",
]

DEFAULT_CONFIG_PATH = "/etc/kubernetes/ssl/encryption.yaml"
DEFAULT_API_SERVER_PORT = 6443
_ACTED_TOP = {"nodes", "services", "rotate_encryption_key", "ssh_key_path", "ssh_agent_auth"}
_ACTED_NODE = {
    "address",
    "port",
    "user",
    "role",
    "hostname_override",
    "ssh_key_path",
    "ssh_key",
    "ssh_agent_auth",
    "kcrypt",
}
_CLUSTER_KCRYPT = {
    "kubeconfig",
    "api_server_port",
    "encryption_config_path",
    "restart_command",
    "known_hosts",
    "proof_timeout",
    "rewrite",
}
_NODE_KCRYPT = {
    "api_server_url",
    "api_server_port",
    "encryption_config_path",
    "restart_command",
    "kubeconfig",
    "local",
}
_REWRITE = {"page_size", "concurrency", "rate_limit"}


@dataclass(frozen=True, slots=True)
class EncryptionSpec:
    """``services.kube-api.secrets_encryption_config`` (``present`` False: no block)."""

    present: bool = False
    enabled: bool = False
    custom_config: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def mode(self) -> str:
        """``managed``, ``custom`` or ``disabled`` (RKE: a custom config needs enabled)."""
        if not self.enabled:
            return "disabled"
        return "custom" if self.custom_config is not None else "managed"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One controlplane node, with kcrypt's settings resolved."""

    address: str
    name: str
    port: int
    user: str
    ssh_key_path: Path | None
    ssh_key: str | None = field(repr=False)
    ssh_agent_auth: bool
    api_server_url: str
    config_path: str
    restart_command: str | None
    kubeconfig: Path
    local: bool
    known_hosts: Path | None


@dataclass(frozen=True, slots=True)
class RewriteSpec:
    page_size: int = 500
    concurrency: int = 16
    rate_limit: float = 0.0
    """Objects per second at most; 0 means unlimited."""


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    path: Path
    nodes: tuple[NodeSpec, ...]
    encryption: EncryptionSpec
    rotate_encryption_key: bool
    kubeconfig: Path
    proof_timeout: float
    rewrite: RewriteSpec
    ignored: tuple[str, ...]
    """RKE fields present that kcrypt does not act on (dotted paths, ``nodes[]`` once)."""

    @property
    def state_path(self) -> Path:
        """RKE's name: ``cluster.yml`` -> ``cluster.rkestate`` beside it."""
        return self.path.with_suffix(".rkestate")


def load_cluster_file(path: Path, *, ssh_agent_auth: bool = False) -> ClusterSpec:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ClusterFileError(f"can not read cluster file {path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ClusterFileError(f"{path} is not valid YAML{where}") from None
    return parse_cluster(doc if doc is not None else {}, path=path, ssh_agent_auth=ssh_agent_auth)


def parse_cluster(doc: object, *, path: Path, ssh_agent_auth: bool = False) -> ClusterSpec:
    top = mapping(doc, str(path))
    ignored: list[str] = []
    check_fields(top, TOP_FIELDS, "", ignored, acted=_ACTED_TOP)
    services = mapping(top.get("services") or {}, "services")
    check_fields(services, SERVICES_FIELDS, "services.", ignored, acted={"kube-api"})
    for name, svc in services.items():
        if name != "kube-api":
            continue
        api = mapping(svc or {}, "services.kube-api")
        check_fields(
            api, KUBE_API_FIELDS, "services.kube-api.", ignored, acted={"secrets_encryption_config"}
        )
    encryption = _encryption(services)
    base = path.parent
    kc = mapping(top.get("kcrypt") or {}, "kcrypt")
    unknown_fields(kc, _CLUSTER_KCRYPT, "kcrypt")
    kubeconfig = path_value(kc.get("kubeconfig"), base) or base / f"kube_config_{path.name}"
    hosts_file = known_hosts(kc.get("known_hosts"), base)
    nodes, node_ignored = _nodes(
        top.get("nodes") or [],
        base=base,
        cluster=kc,
        kubeconfig=kubeconfig,
        known_hosts=hosts_file,
        ssh_key_path=path_value(top.get("ssh_key_path"), base),
        ssh_agent_auth=ssh_agent_auth or bool(top.get("ssh_agent_auth")),
    )
    ignored += node_ignored
    return ClusterSpec(
        path=path,
        nodes=nodes,
        encryption=encryption,
        rotate_encryption_key=truth(
            top.get("rotate_encryption_key", False), "rotate_encryption_key"
        ),
        kubeconfig=kubeconfig,
        proof_timeout=float(number(kc.get("proof_timeout", 120), "kcrypt.proof_timeout")),
        rewrite=_rewrite(kc.get("rewrite") or {}),
        ignored=tuple(ignored),
    )


def _encryption(services: Mapping[str, Any]) -> EncryptionSpec:
    api = services.get("kube-api") or {}
    if "secrets_encryption_config" not in api or api["secrets_encryption_config"] is None:
        return EncryptionSpec()
    where = "services.kube-api.secrets_encryption_config"
    block = mapping(api["secrets_encryption_config"], where)
    unknown_fields(block, SECRETS_ENCRYPTION_FIELDS, where)
    enabled = truth(block.get("enabled", False), f"{where}.enabled")
    custom = block.get("custom_config")
    if custom is not None:
        custom = mapping(custom, f"{where}.custom_config")
    return EncryptionSpec(present=True, enabled=enabled, custom_config=custom)


def _nodes(
    raw: object,
    *,
    base: Path,
    cluster: Mapping[str, Any],
    kubeconfig: Path,
    known_hosts: Path | None,
    ssh_key_path: Path | None,
    ssh_agent_auth: bool,
) -> tuple[tuple[NodeSpec, ...], list[str]]:
    if not isinstance(raw, list):
        raise ClusterFileError("nodes: must be a list of nodes")
    ignored: list[str] = []
    nodes: list[NodeSpec] = []
    for i, item in enumerate(raw):
        where = f"nodes[{i}]"
        node = mapping(item, where)
        check_fields(node, NODE_FIELDS, "nodes[].", ignored, acted=_ACTED_NODE)
        address = str(node.get("address") or "")
        if not address:
            raise ClusterFileError(f"{where}.address: a node needs an address")
        roles = node.get("role") or []
        if not isinstance(roles, list):
            raise ClusterFileError(f"{where}.role: must be a list such as [controlplane, etcd]")
        if "controlplane" not in roles:
            continue
        own = mapping(node.get("kcrypt") or {}, f"{where}.kcrypt")
        unknown_fields(own, _NODE_KCRYPT, f"{where}.kcrypt")
        merged = {**cluster, **own}
        port = int(number(merged.get("api_server_port", DEFAULT_API_SERVER_PORT), where))
        url = str(own.get("api_server_url") or f"https://{url_host(address)}:{port}")
        nodes.append(
            NodeSpec(
                address=address,
                name=str(node.get("hostname_override") or address),
                port=int(number(node.get("port") or 22, f"{where}.port")),
                user=str(node.get("user") or "root"),
                ssh_key_path=path_value(node.get("ssh_key_path"), base) or ssh_key_path,
                ssh_key=node.get("ssh_key") or None,
                ssh_agent_auth=ssh_agent_auth or bool(node.get("ssh_agent_auth")),
                api_server_url=url.rstrip("/"),
                config_path=str(merged.get("encryption_config_path") or DEFAULT_CONFIG_PATH),
                restart_command=merged.get("restart_command") or None,
                kubeconfig=path_value(own.get("kubeconfig"), base) or kubeconfig,
                local=truth(own.get("local", False), f"{where}.kcrypt.local"),
                known_hosts=known_hosts,
            )
        )
    names = [n.name for n in nodes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ClusterFileError(f"nodes: controlplane node {dupes[0]!r} is listed twice")
    return tuple(nodes), ignored


def _rewrite(raw: object) -> RewriteSpec:
    doc = mapping(raw, "kcrypt.rewrite")
    unknown_fields(doc, _REWRITE, "kcrypt.rewrite")
    spec = RewriteSpec(
        page_size=int(number(doc.get("page_size", 500), "kcrypt.rewrite.page_size")),
        concurrency=int(number(doc.get("concurrency", 16), "kcrypt.rewrite.concurrency")),
        rate_limit=float(number(doc.get("rate_limit", 0), "kcrypt.rewrite.rate_limit")),
    )
    if spec.page_size < 1 or spec.concurrency < 1 or spec.rate_limit < 0:
        raise ClusterFileError(
            "kcrypt.rewrite: page_size and concurrency must be >= 1, rate_limit >= 0"
        )
    return spec
