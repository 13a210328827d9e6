"""``/version``: kcrypt's own version, in Kubernetes' ``version.Info`` shape.

``gitVersion`` must be strict semver for ``kubectl version`` (it exits with
an error otherwise) and carry the Kubernetes minor kcrypt serves the API of:
kubectl warns when the server is more than one minor away, and the gcloud
kubectl dispatcher picks its kubectl from ``minor``. So, like k3s
(``v1.32.4+k3s1``), the Kubernetes API level comes first and kcrypt's own
release is the semver build metadata: ``v1.32.0+kcrypt-0.1.0``. The other
fields describe this build: the Python that runs it stands where upstream
names its Go toolchain.
"""

from __future__ import annotations

import importlib.metadata
import platform

from starlette.requests import Request
from starlette.responses import Response

from kcrypt.apiserver.negotiation import JSON, dump_json

__all__ = ["API_LEVEL", "VERSION_INFO", "kcrypt_version", "version"]

API_LEVEL = (1, 32, 0)
"""The Kubernetes release whose API (and kubectl) this server is built and tested against."""

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le"}


def kcrypt_version() -> str:
    try:
        return importlib.metadata.version("kcrypt")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _info() -> dict[str, str]:
    major, minor, patch = API_LEVEL
    machine = platform.machine().lower()
    return {
        "major": str(major),
        "minor": str(minor),
        "gitVersion": f"v{major}.{minor}.{patch}+kcrypt-{kcrypt_version()}",
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": f"{platform.python_implementation().lower()}{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": f"{platform.system().lower()}/{_ARCH.get(machine, machine)}",
    }


VERSION_INFO: dict[str, str] = _info()


async def version(request: Request) -> Response:
    return Response(dump_json(VERSION_INFO), media_type=JSON)
