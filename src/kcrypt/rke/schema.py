"""The field names of RKE's cluster.yml (``types/rke_types.go``, yaml tags).

kcrypt acts on a few of them (``nodes``, ``services.kube-api.
secrets_encryption_config``, ``rotate_encryption_key``, the SSH settings) and
accepts every other one, so an RKE cluster.yml works unchanged; those are
listed once as ignored. A name that is in none of these lists is refused:
a misspelt ``secrets_encryption_config`` silently ignored would look like
"encryption removed" and start a disable.
"""

from __future__ import annotations

__all__ = [
    "KUBE_API_FIELDS",
    "NODE_FIELDS",
    "SECRETS_ENCRYPTION_FIELDS",
    "SERVICES_FIELDS",
    "SERVICE_BASE_FIELDS",
    "TOP_FIELDS",
]

#: RancherKubernetesEngineConfig. ``kcrypt`` is kcrypt's own override block.
TOP_FIELDS = frozenset(
    {
        "nodes",
        "services",
        "network",
        "authentication",
        "addons",
        "addons_include",
        "system_images",
        "ssh_key_path",
        "ssh_cert_path",
        "ssh_agent_auth",
        "authorization",
        "ignore_docker_version",
        "enable_cri_dockerd",
        "kubernetes_version",
        "private_registries",
        "ingress",
        "cluster_name",
        "cloud_provider",
        "prefix_path",
        "win_prefix_path",
        "addon_job_timeout",
        "bastion_host",
        "monitoring",
        "restore",
        "rotate_certificates",
        "rotate_encryption_key",
        "dns",
        "upgrade_strategy",
        "cri_dockerd_stream_server_address",
        "cri_dockerd_stream_server_port",
        "kcrypt",
    }
)

SERVICES_FIELDS = frozenset(
    {"etcd", "kube-api", "kube-controller", "scheduler", "kubelet", "kubeproxy"}
)

#: BaseService, inlined in every service.
SERVICE_BASE_FIELDS = frozenset(
    {
        "image",
        "extra_args",
        "extra_args_array",
        "extra_binds",
        "extra_env",
        "win_extra_args",
        "win_extra_args_array",
        "win_extra_binds",
        "win_extra_env",
    }
)

KUBE_API_FIELDS = SERVICE_BASE_FIELDS | {
    "service_cluster_ip_range",
    "service_node_port_range",
    "pod_security_policy",
    "pod_security_configuration",
    "always_pull_images",
    "secrets_encryption_config",
    "audit_log",
    "admission_configuration",
    "event_rate_limit",
}

SECRETS_ENCRYPTION_FIELDS = frozenset({"enabled", "custom_config"})

#: RKEConfigNode. ``kcrypt`` is kcrypt's per-node override block.
NODE_FIELDS = frozenset(
    {
        "nodeName",
        "address",
        "port",
        "internal_address",
        "role",
        "hostname_override",
        "user",
        "docker_socket",
        "ssh_agent_auth",
        "ssh_key",
        "ssh_key_path",
        "ssh_cert",
        "ssh_cert_path",
        "labels",
        "taints",
        "kcrypt",
    }
)
