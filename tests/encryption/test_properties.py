"""Random walks of commands, stops, joins and leaves over several controllers.

Two promises are checked after every step any controller takes and after
every operation of the walk:

* every value in the store can be read by every live server (so no key was
  removed while a value used it, and no server writes what another cannot
  read);
* the write key of every live server is readable by every other live server.

Commands are the operator's, unforced (``--force`` exists to override these
very checks); "stop" ends a server's controller (its pass resumes elsewhere
or at its restart), "join" starts a new one, "write" is an API write through
a live server with the transformers it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import EncryptionError, EncryptionState, Step, parse_config
from kcrypt.envelope import EnvelopeError

from ._node import Node, body
from .test_procedures import PREFIX, first_boot, original

COMMANDS = ["enable", "disable", "prepare", "rotate", "reencrypt", "rotate-keys"]
_COMMAND = st.tuples(st.just("command"), st.sampled_from(COMMANDS), st.integers(0, 3))
_PAUSE = st.tuples(st.just("pause"), st.integers(0, 3))
OPS = st.lists(
    st.one_of(
        _COMMAND,
        _COMMAND,
        _COMMAND,
        _PAUSE,
        _PAUSE,
        st.tuples(st.just("resume"), st.integers(0, 3)),
        st.tuples(st.just("stop"), st.integers(0, 3)),
        st.tuples(st.just("join"), st.sampled_from(["aescbc", "aescbc", "secretbox"])),
        st.tuples(st.just("write"), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=8,
)


class Walk:
    def __init__(self, ds: Datastore, base: Path) -> None:
        self.ds = ds
        self.base = base
        self.nodes: dict[str, Node] = {}
        self.stopped: set[str] = set()
        self.names = itertools.count(1)
        self.violations: list[str] = []
        self.writes = itertools.count()

    def live(self) -> list[Node]:
        return [n for name, n in sorted(self.nodes.items()) if name not in self.stopped]

    async def join(self, provider: str = "aescbc") -> None:
        name = f"s{next(self.names)}"
        path = self.base / name / "encryption-config.json"
        node = Node(self.ds, path, node=name, provider=provider, generated=True)
        real = node.hooks.step_done

        async def checked(step: Step, state: EncryptionState | None) -> None:
            await real(step, state)
            await self.check(f"after {step.action.value} on {name}")

        node.hooks.step_done = checked  # type: ignore[method-assign]
        if self.nodes:
            first_boot(path, provider)  # a joining server's own fresh key, replaced
        self.nodes[name] = node
        await node.start()

    async def check(self, when: str) -> None:
        live = self.live()
        page = await self.ds.range(PREFIX)
        for node in live:
            if not node.hooks.applied:
                continue
            tf = node.hooks.registry.for_resource("secrets")
            for kv in page.kvs:
                try:
                    tf.from_storage(kv.value, context=kv.key.encode())
                except EnvelopeError as exc:
                    self.violations.append(f"{when}: {node.controller.settings.node} {exc}")
        for writer in live:
            if not writer.hooks.applied:
                continue
            prefix = parse_config(writer.hooks.applied[-1]).write_prefix
            for reader in live:
                if not reader.hooks.applied:
                    continue
                probe = writer.hooks.registry.for_resource("secrets").to_storage(
                    b"k8s\x00probe", context=b"/registry/secrets/p/p"
                )
                try:
                    reader.hooks.registry.for_resource("secrets").from_storage(
                        probe, context=b"/registry/secrets/p/p"
                    )
                except EnvelopeError:
                    self.violations.append(
                        f"{when}: {reader.controller.settings.node} cannot read what "
                        f"{writer.controller.settings.node} writes ({prefix or 'identity'})"
                    )

    async def settle(self) -> None:
        for node in self.live():
            if node.following:
                await node.settle()

    async def op(self, op: tuple[Any, ...]) -> None:
        live = self.live()
        if op[0] == "command" and live:
            node = live[op[2] % len(live)]
            with contextlib.suppress(EncryptionError):  # refused: stage, servers, a pass...
                await node.svc.apply(body(op[1]))
        elif op[0] == "stop" and len(live) > 1:
            node = live[op[1] % len(live)]
            await node.close()
            self.stopped.add(node.controller.settings.node)
        elif op[0] == "join" and len(self.nodes) < 4:
            await self.join(op[1])
        elif op[0] == "pause" and live:
            await live[op[1] % len(live)].pause()
        elif op[0] == "resume" and live:
            live[op[1] % len(live)].resume()
        elif op[0] == "write" and live:
            node = live[op[1] % len(live)]
            if node.hooks.applied:
                key = f"{PREFIX}ns/w{next(self.writes)}"
                tf = node.hooks.registry.for_resource("secrets")
                value = tf.to_storage(original(7), context=key.encode())
                await self.ds.txn_put([PutIf(key, value, 0)])
        await self.settle()
        await self.check(f"after {op}")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_random_walks_keep_every_value_readable(tmp_path_factory: Any, ops: list[Any]) -> None:
    async def walk() -> list[str]:
        ds = await open_datastore("memory://")
        w = Walk(ds, tmp_path_factory.mktemp("walk"))
        try:
            await w.join()
            first = next(iter(w.nodes.values()))
            await first.run(body("enable"))
            puts = [PutIf(f"{PREFIX}ns/s{i:03d}", original(i), 0) for i in range(30)]
            await ds.txn_put(puts)
            await first.run(body("rotate-keys"))
            await w.join()  # two servers from the start: pauses make one lag
            for op in ops:
                await w.op(op)
            for node in w.live():
                node.resume()
            await w.settle()
            await w.check("at the end")
            return w.violations
        finally:
            for node in w.live():
                await node.close()
            await ds.close()

    assert asyncio.run(walk()) == []
