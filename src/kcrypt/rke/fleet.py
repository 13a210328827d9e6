"""The controlplane nodes as one thing: read their files, deploy a file to all, prove it.

A deploy writes the same bytes to every node at once (the phases of
:mod:`kcrypt.rke.transition` are built so that any mix of old and new file
across nodes is safe), then waits for every API server's proof
(:mod:`kcrypt.rke.proof`). Servers that need a restart are restarted one at
a time, each back on ``/readyz`` before the next, so the control plane never
loses more than one server at once (RKE restarts in the same order).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kcrypt.config import config_hash
from kcrypt.rke.clusterfile import NodeSpec
from kcrypt.rke.errors import NodeError
from kcrypt.rke.kube import KubeAccess, async_client, load_kubeconfig
from kcrypt.rke.nodes import NodeTarget, open_target
from kcrypt.rke.proof import LoadedView, prove_loaded, read_metrics

__all__ = ["Fleet", "Observed"]


@dataclass(frozen=True, slots=True)
class Observed:
    node: str
    data: bytes | None = field(repr=False)
    """The node's config file as it is now (None: no file)."""


class Fleet:
    def __init__(
        self,
        nodes: tuple[NodeSpec, ...],
        *,
        proof_timeout: float,
        out: Callable[[str], None],
        targets: dict[str, NodeTarget] | None = None,
    ) -> None:
        self.nodes = nodes
        self._timeout = proof_timeout
        self._out = out
        self._targets = targets or {n.name: open_target(n) for n in nodes}
        self._access: dict[Path, KubeAccess] = {}
        self._clients: dict[str, httpx.AsyncClient] = {}

    def access(self, kubeconfig: Path) -> KubeAccess:
        if kubeconfig not in self._access:
            self._access[kubeconfig] = load_kubeconfig(kubeconfig)
        return self._access[kubeconfig]

    def client(self, node: NodeSpec) -> httpx.AsyncClient:
        if node.name not in self._clients:
            self._clients[node.name] = async_client(
                self.access(node.kubeconfig), base_url=node.api_server_url, connections=2
            )
        return self._clients[node.name]

    async def close(self) -> None:
        for c in self._clients.values():
            await c.aclose()
        for t in self._targets.values():
            await t.close()

    async def observe(self) -> list[Observed]:
        async def one(n: NodeSpec) -> Observed:
            return Observed(n.name, await self._targets[n.name].read(n.config_path))

        return list(await asyncio.gather(*(one(n) for n in self.nodes)))

    async def run(self, node: NodeSpec, command: str) -> int:
        result = await self._targets[node.name].run(command)
        return result.exit_status

    async def deploy(self, data: bytes, *, label: str) -> None:
        """Write ``data`` to every node's config path, then wait for every server's proof."""
        expected = config_hash(data)
        before = dict(
            zip(
                [n.name for n in self.nodes],
                await asyncio.gather(
                    *(read_metrics(self.client(n), n.api_server_url) for n in self.nodes)
                ),
                strict=True,
            )
        )
        self._out(
            f"[encryption] {label}: deploying the encryption config ({expected}) to "
            f"{len(self.nodes)} controlplane node(s)"
        )
        await asyncio.gather(
            *(self._targets[n.name].write(n.config_path, data) for n in self.nodes)
        )
        reloading = [n for n in self.nodes if not n.restart_command]
        restarting = [n for n in self.nodes if n.restart_command]
        await asyncio.gather(*(self._prove(n, expected, before[n.name]) for n in reloading))
        for n in restarting:
            await self._prove(n, expected, before[n.name])

    async def verify(self, observed: list[Observed]) -> list[str]:
        """Nodes whose server does not show the hash of its own file (reloading ones)."""
        wrong = []
        for n, o in zip(self.nodes, observed, strict=True):
            if n.restart_command or o.data is None:
                continue
            view = await read_metrics(self.client(n), n.api_server_url)
            if view.published and config_hash(o.data) not in view.hashes:
                wrong.append(n.name)
        return wrong

    async def _prove(self, n: NodeSpec, expected: str, before: LoadedView) -> None:
        restart = None
        if n.restart_command:
            command = n.restart_command

            async def restart() -> None:
                self._out(f"[encryption] [{n.name}] restarting the API server: {command}")
                code = await self.run(n, command)
                if code != 0:
                    raise NodeError(f"[{n.name}] the restart command exited with status {code}")

        await prove_loaded(
            self.client(n),
            node=n.name,
            url=n.api_server_url,
            expected=expected,
            before=before,
            restart=restart,
            timeout=self._timeout,
        )
        self._out(f"[encryption] [{n.name}] serves with {expected}")
