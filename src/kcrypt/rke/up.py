"""``kcrypt up``: bring every controlplane API server to cluster.yml's encryption.

The order, and why:

1. read cluster.yml and cluster.rkestate; finish a change a previous run left
   in progress (it is in the state file) before looking at anything new;
2. read every node's config file. A node that runs something the state file
   does not know is only accepted if it can read, and be read by, the first
   file kcrypt would deploy; a cluster never set up by kcrypt or RKE whose
   nodes all run the same file is adopted as it is;
3. work out the wanted config (:mod:`kcrypt.rke.desired`) and its phases
   (:mod:`kcrypt.rke.transition`), refusing before any node is touched if
   it is invalid, unsafe, or names a KMS plugin that does not answer;
4. write the plan -- new keys included -- to the state file, *then* deploy
   phase by phase, each proven on every server, the rewrite after the write
   phase; the state file records every step, so ``kill -9`` at any point and
   a rerun converge;
5. record the result as RKE's ``currentState``; keys that left the config
   are kept among ``kcrypt.retiredKeys``.

A failed rewrite leaves the cluster in the write phase (every server reads
old and new keys, writes the new one) with the new key safe in the state file:
rerunning resumes the rewrite from its checkpoint. Nothing is rolled back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcrypt.config import ConfigError, EncryptionConfiguration, config_hash, dump_yaml, load
from kcrypt.rke.checkpoint import Checkpoint
from kcrypt.rke.clusterfile import ClusterSpec
from kcrypt.rke.desired import Current, Desired, desired_config
from kcrypt.rke.discovery import resolve_rules
from kcrypt.rke.errors import ClusterFileError, Refused
from kcrypt.rke.fleet import Fleet, Observed
from kcrypt.rke.keyset import describe, key_names, key_secrets, retired_keys
from kcrypt.rke.kms import check_kms_plugins
from kcrypt.rke.kube import async_client
from kcrypt.rke.operation import new_operation, phase_bytes
from kcrypt.rke.rewrite import RewriteProgress, RewriteSettings, rewrite
from kcrypt.rke.state import StateFile, rke_config
from kcrypt.rke.transition import can_read, disabled_config, equivalent, plan

__all__ = ["UpOptions", "UpResult", "run_up"]


@dataclass(frozen=True, slots=True)
class UpOptions:
    rotate: bool = False
    dry_run: bool = False
    passphrase: str | None = None


@dataclass(frozen=True, slots=True)
class UpResult:
    changed: bool
    mode: str


def run_up(
    spec: ClusterSpec,
    options: UpOptions,
    *,
    out: Callable[[str], None],
    on_progress: Callable[[RewriteProgress], None] | None = None,
) -> UpResult:
    return asyncio.run(_Up(spec, options, out=out, on_progress=on_progress).run())


class _Up:
    def __init__(
        self,
        spec: ClusterSpec,
        options: UpOptions,
        *,
        out: Callable[[str], None],
        on_progress: Callable[[RewriteProgress], None] | None,
    ) -> None:
        self.spec = spec
        self.options = options
        self.out = out
        self.on_progress = on_progress
        self.state = StateFile.load(spec.state_path, passphrase=options.passphrase)
        self.fleet = Fleet(spec.nodes, proof_timeout=spec.proof_timeout, out=out)

    async def run(self) -> UpResult:
        if not self.spec.nodes:
            raise ClusterFileError("cluster.yml has no node with the controlplane role")
        if self.spec.ignored:
            self.out("Ignoring RKE fields kcrypt does not act on: " + ", ".join(self.spec.ignored))
        try:
            resumed: dict[str, Any] | None = None
            if self.state.operation is not None:
                if self.options.dry_run:
                    self.out(
                        "[encryption] a change is in progress; "
                        "kcrypt up (without --dry-run) resumes it"
                    )
                    return UpResult(changed=True, mode=str(self.state.operation.get("mode")))
                self.out("[encryption] resuming the change a previous run left in progress")
                resumed = self.state.operation
                await self._execute(resumed)
            return await self._converge(resumed=resumed)
        finally:
            await self.fleet.close()

    async def _converge(self, *, resumed: dict[str, Any] | None) -> UpResult:
        spec, state = self.spec, self.state
        current = state.current()
        observed = await self.fleet.observe()
        parsed = {o.node: _parse(o) for o in observed}
        if current.config is None and current.mode is None:
            current = _adopt(parsed) or current
        rotate = self.options.rotate or spec.rotate_encryption_key
        if resumed is not None and resumed.get("rotate"):
            rotate = False  # the change just finished was this rotation
        taken = state.taken_names() | {n for c in parsed.values() for n in key_names(c)}
        desired = desired_config(spec.encryption, current=current, rotate=rotate, taken=taken)
        for note in desired.notes:
            self.out(f"[encryption] {note}")
        if desired.config is None or desired.rendered is None:
            self._record_idle(desired, current)
            self.out("Nothing changed: secrets encryption is not enabled and never was")
            return UpResult(changed=resumed is not None, mode=desired.mode)
        _check_retired(desired, state.retired())
        steps = plan(current.config, desired.config, force_rewrite=desired.force_rewrite)
        lagging = [n for n, c in parsed.items() if not equivalent(c, current.config)]
        first = steps.phases[0].config if steps.phases else current.config
        for node in lagging:
            other = parsed[node]
            if not (can_read(other, current.config) and can_read(current.config, other)):
                raise Refused(
                    f"node {node} runs an encryption config that cannot read what the others "
                    f"write (or the other way round); kcrypt will not deploy to this cluster "
                    f"until that node's {_path(spec, node)} is fixed by hand"
                )
        if first is not current.config and any(
            not (can_read(c, first) and can_read(first, c)) for c in parsed.values()
        ):
            raise Refused(
                "a node runs a config that could not read the first phase; nothing deployed"
            )
        if steps.empty and not lagging:
            wrong = await self.fleet.verify(observed)
            if wrong:
                self.out(
                    "[encryption] these API servers do not show the hash of their config file: "
                    + ", ".join(wrong)
                )
            self._record_idle(desired, current)
            self.out(_nothing_changed(desired))
            return UpResult(changed=resumed is not None, mode=desired.mode)
        await check_kms_plugins(self.fleet, desired.config, current.config)
        sync = None
        if lagging:
            sync = current.rendered or _identity_bytes(current.config)
        rke = rke_config(
            enabled=spec.encryption.enabled,
            custom=spec.encryption.custom_config,
            present=spec.encryption.present,
        )
        op = new_operation(desired, steps, rke=rke, sync=sync)
        self._describe(desired, op, lagging)
        if self.options.dry_run:
            self.out("Dry run: nothing was written or deployed")
            return UpResult(changed=True, mode=desired.mode)
        op["previous"] = current.rendered.decode() if current.rendered else ""
        op["rotate"] = rotate
        state.set_desired(desired.rendered, rke=rke)
        state.operation = op
        state.save()  # the new keys are on disk before any node sees them
        await self._execute(op)
        return UpResult(changed=True, mode=desired.mode)

    async def _execute(self, op: dict[str, Any]) -> None:
        phases = op["phases"]
        while True:
            i = int(op["next"])
            if i == int(op["rewriteAt"]) and not op["rewritten"]:
                await self._rewrite(op)
                op["rewritten"] = True
                self.state.save()
            if i >= len(phases):
                break
            data = phase_bytes(op, i)
            await self.fleet.deploy(
                data, label=f"phase {i + 1}/{len(phases)} ({phases[i]['name']})"
            )
            self.state.set_current(data)
            op["next"] = i + 1
            self.state.save()
        target = str(op["target"]).encode()
        last = phase_bytes(op, len(phases) - 1) if phases else target
        self.state.set_current(last, rke=op.get("rke"))
        old = [str(op.get("previous") or "").encode()] + [
            phase_bytes(op, j) for j in range(len(phases))
        ]
        self.state.retire(retired_keys([_load(b) for b in old if b], _load(target)))
        self.state.operation = None
        self.state.save()
        self.out(
            f"[encryption] done: every controlplane API server serves with {config_hash(last)}"
        )

    async def _rewrite(self, op: dict[str, Any]) -> None:
        spec = self.spec
        rules = list(op["rewrite"])
        access = self.fleet.access(
            spec.kubeconfig if spec.kubeconfig.exists() else spec.nodes[0].kubeconfig
        )
        settings = RewriteSettings(
            page_size=spec.rewrite.page_size,
            concurrency=spec.rewrite.concurrency,
            rate_limit=spec.rewrite.rate_limit,
        )
        path = spec.state_path.with_name(spec.state_path.name + ".rewrite")
        checkpoint = Checkpoint.open(path, id=str(op["id"]))
        async with async_client(access, connections=1) as client:
            refs = await resolve_rules(client, rules)
        names = ", ".join(str(r) for r in refs) or "nothing"
        self.out(f"[rewrite] rewriting {names} through {access.server}")
        result = await rewrite(
            access, refs, settings=settings, checkpoint=checkpoint, on_progress=self.on_progress
        )
        checkpoint.remove()
        self.out(
            f"[rewrite] Operation completed, {result.done} objects examined "
            f"({result.rewritten} rewritten, {result.unchanged} already current, "
            f"{result.missing} deleted meanwhile) in {result.elapsed:.1f}s"
        )

    def _record_idle(self, desired: Desired, current: Current) -> None:
        """Nothing to deploy: keep the state file's RKE blocks in step with cluster.yml."""
        if self.options.dry_run:
            return
        spec = self.spec
        rke = rke_config(
            enabled=spec.encryption.enabled,
            custom=spec.encryption.custom_config,
            present=spec.encryption.present,
        )
        if desired.rendered is not None or current.rendered is not None:
            self.state.set_desired(desired.rendered or current.rendered, rke=rke)
            self.state.set_current(current.rendered, rke=rke)
        if self.state.doc or self.spec.state_path.exists():
            self.state.save()

    def _describe(self, desired: Desired, op: dict[str, Any], lagging: list[str]) -> None:
        for name in desired.new_keys:
            self.out(f"[encryption] Generated new encryption key {name}")
        if lagging:
            self.out(
                f"[encryption] node(s) {', '.join(lagging)} lack the current config: "
                f"re-deployed first"
            )
        names = [p["name"] for p in op["phases"]]
        self.out(f"[encryption] {desired.mode}: phases {' -> '.join(names) or '(none)'}")
        for i, phase in enumerate(op["phases"]):
            text = describe(_load(phase_bytes(op, i)))
            self.out(f"[encryption] phase {i + 1} ({phase['name']}): {text}")
        if op["rewrite"]:
            self.out(f"[encryption] then rewrite: {', '.join(op['rewrite'])}")


def _parse(o: Observed) -> EncryptionConfiguration | None:
    if o.data is None:
        return None
    try:
        return load(o.data, source=o.node).config
    except ConfigError as exc:
        raise Refused(f"node {o.node}'s encryption config is not valid: {exc}") from None


def _load(data: bytes) -> EncryptionConfiguration:
    return load(data).config


def _adopt(parsed: dict[str, EncryptionConfiguration | None]) -> Current | None:
    configs = list(parsed.values())
    if not configs or configs[0] is None:
        return None
    if all(equivalent(c, configs[0]) for c in configs):
        return Current(
            config=configs[0], rendered=dump_yaml(configs[0]), mode="custom", custom=None
        )
    return None


def _check_retired(desired: Desired, retired: list[dict[str, Any]]) -> None:
    old = {(k["provider"], k["name"]): k["secret"] for k in retired}
    for (provider, name), secret in key_secrets(desired.config).items():
        if (provider, name) in old and old[(provider, name)] != secret:
            raise Refused(
                f"key name {name!r} ({provider}) was used before for another secret (it is among "
                f"the state file's retired keys); give the new key a new name"
            )


def _identity_bytes(config: EncryptionConfiguration | None) -> bytes:
    return dump_yaml(config if config is not None else disabled_config(None))


def _path(spec: ClusterSpec, node: str) -> str:
    for n in spec.nodes:
        if n.name == node:
            return n.config_path
    return "encryption config"


def _nothing_changed(desired: Desired) -> str:
    if desired.mode == "disabled":
        return "Nothing changed: secrets encryption is disabled on every controlplane node"
    keys = sorted(key_names(desired.config))
    return (
        f"Nothing changed: the {desired.mode} encryption config (keys {', '.join(keys) or 'none'}) "
        f"is what every controlplane node runs"
    )
