"""From the config every API server runs to the one wanted, without an unreadable value.

A change goes through at most three configs, each deployed to every
controlplane node and proven loaded before the next:

1. **read** = current providers first, the wanted ones' keys appended: every
   server learns the new keys while all still write as before;
2. **write** = wanted providers first, the current ones' keys appended: servers
   write under the new key, and any of them can still read what a server not
   yet switched writes; then every resource whose writer changed or that
   loses a key is rewritten;
3. **final** = the wanted config, dropping old keys only after the rewrite.

A phase equivalent to the one before it is skipped (enabling needs no final
phase; disabling needs no read phase). Any two neighbouring configs are
*mutually readable* -- each can read what the other writes, for every resource
-- so a partly deployed phase (a crash, a slow node) never leaves a node
writing what another cannot read. :func:`plan` checks that and refuses
otherwise.

Configs are compared per resource rule (``secrets``, ``*.apps``, ``*.``,
``*.*``) after upstream's resolution (exact, then ``*.<group>``, then
``*.*``; nothing means identity), so two files that only differ in layout
are the same config.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from kcrypt.config import (
    EncryptionConfiguration,
    GroupResource,
    IdentityConfiguration,
    KeyConfiguration,
    KeysConfiguration,
    ProviderConfiguration,
    ResourceConfiguration,
    assign,
)
from kcrypt.rke.errors import Refused
from kcrypt.rke.keyset import KEYED, with_keys

__all__ = [
    "IDENTITY",
    "Phase",
    "Plan",
    "can_read",
    "disabled_config",
    "equivalent",
    "merge",
    "plan",
    "rewrite_rules",
]

IDENTITY = ProviderConfiguration(identity=IdentityConfiguration())
_ANY = GroupResource("*", "*")
Table = dict[GroupResource, tuple[ProviderConfiguration, ...]]


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    """``read``, ``write`` or ``final``."""
    config: EncryptionConfiguration


@dataclass(frozen=True, slots=True)
class Plan:
    phases: tuple[Phase, ...]
    rewrite: tuple[str, ...]
    """Resource rules (``secrets``, ``*.*``) to rewrite after the write phase."""

    @property
    def empty(self) -> bool:
        return not self.phases and not self.rewrite

    @property
    def rewrite_at(self) -> int:
        """How many phases are deployed before the rewrite runs: after ``write``, else
        before ``final``, else after everything."""
        names = [p.name for p in self.phases]
        if "write" in names:
            return names.index("write") + 1
        if "final" in names:
            return names.index("final")
        return len(names)


def table(config: EncryptionConfiguration | None) -> Table:
    if config is None:
        return {}
    return assign((entry.resources, entry.providers) for entry in config.resources)


def providers_for(t: Table, rule: GroupResource) -> tuple[ProviderConfiguration, ...]:
    """What a config applies to ``rule``; a wildcard rule only inherits wider wildcards."""
    candidates = [rule]
    if rule.resource != "*":
        candidates.append(GroupResource(rule.group, "*"))
    candidates.append(_ANY)
    for key in candidates:
        if key in t:
            return t[key]
    return (IDENTITY,)


def _rules(*tables: Table) -> list[GroupResource]:
    """Every rule once, specific ones first, then ``*.<group>``, ``*.*`` last (no masking)."""
    seen: list[GroupResource] = []
    for t in tables:
        for rule in t:
            if rule not in seen:
                seen.append(rule)

    def rank(r: GroupResource) -> int:
        return 2 if r == _ANY else 1 if r.resource == "*" else 0

    return sorted(seen, key=rank)


def _writer(providers: Sequence[ProviderConfiguration]) -> tuple[str, ...]:
    first = providers[0] if providers else IDENTITY
    kind = first.kinds()[0]
    if kind in KEYED:
        keys: KeysConfiguration = getattr(first, kind)
        k = keys.keys[0] if keys.keys else None
        return (kind, k.name, k.secret) if k else (kind,)
    if first.kms is not None:
        return ("kms", first.kms.name)
    return ("identity",)


def _readable(providers: Sequence[ProviderConfiguration]) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for p in providers:
        kind = p.kinds()[0]
        if kind in KEYED:
            out.update((kind, k.name, k.secret) for k in getattr(p, kind).keys)
        elif p.kms is not None:
            out.add(("kms", p.kms.name))
        else:
            out.add(("identity",))
    return out


def can_read(
    reader: EncryptionConfiguration | None, writer: EncryptionConfiguration | None
) -> bool:
    """Whether ``reader`` reads every value ``writer`` writes, for every resource."""
    r, w = table(reader), table(writer)
    return all(
        _writer(providers_for(w, rule)) in _readable(providers_for(r, rule))
        for rule in _rules(r, w)
    )


def equivalent(a: EncryptionConfiguration | None, b: EncryptionConfiguration | None) -> bool:
    ta, tb = table(a), table(b)
    return all(providers_for(ta, r) == providers_for(tb, r) for r in _rules(ta, tb))


def merge(
    first: EncryptionConfiguration | None, second: EncryptionConfiguration | None
) -> EncryptionConfiguration:
    """``first``'s providers (so its writers), then whatever ``second`` reads that they don't."""
    ta, tb = table(first), table(second)
    rules = _rules(ta, tb)
    merged = {r: _merge_providers(providers_for(ta, r), providers_for(tb, r)) for r in rules}
    return _layout(merged)


def _merge_providers(
    first: Sequence[ProviderConfiguration], second: Sequence[ProviderConfiguration]
) -> tuple[ProviderConfiguration, ...]:
    out = list(first)
    for p in second:
        kind = p.kinds()[0]
        same = [i for i, q in enumerate(out) if q.kinds()[0] == kind]
        if kind in KEYED and same:
            i = same[0]
            have: KeysConfiguration = getattr(out[i], kind)
            keys = list(have.keys)
            for k in getattr(p, kind).keys:
                if any(h.name == k.name for h in _all_keys(out, kind)):
                    if not any(
                        h.name == k.name and h.secret == k.secret for h in _all_keys(out, kind)
                    ):
                        raise Refused(
                            f"key name {k.name!r} ({kind}) stands for two different secrets in the "
                            f"current and the wanted config; a key name must never be reused"
                        )
                    continue
                keys.append(k)
            out[i] = with_keys(out[i], kind, tuple(keys))
        elif kind == "kms" and p.kms is not None:
            kms = p.kms
            if not any(q.kms is not None and q.kms.name == kms.name for q in out):
                out.append(p)
        elif not same:
            out.append(p)
    return tuple(out)


def _all_keys(providers: Sequence[ProviderConfiguration], kind: str) -> Iterable[KeyConfiguration]:
    for p in providers:
        value = getattr(p, kind)
        if value is not None:
            yield from value.keys


def _layout(
    merged: dict[GroupResource, tuple[ProviderConfiguration, ...]],
) -> EncryptionConfiguration:
    """Specific resources with the same providers share an entry; wildcards stand alone."""
    entries: list[ResourceConfiguration] = []
    for rule, providers in merged.items():
        text = rule.yaml_string()
        last = entries[-1] if entries else None
        specific = rule.resource != "*"
        if (
            last is not None
            and specific
            and last.providers == providers
            and all(not r.startswith("*.") for r in last.resources)
        ):
            entries[-1] = replace(last, resources=(*last.resources, text))
        else:
            entries.append(ResourceConfiguration(resources=(text,), providers=providers))
    return EncryptionConfiguration(resources=tuple(entries))


def rewrite_rules(
    current: EncryptionConfiguration | None, final: EncryptionConfiguration | None
) -> tuple[str, ...]:
    """Rules whose writer changes or that lose a readable key: their values must be rewritten."""
    tc, tf = table(current), table(final)
    out = []
    for rule in _rules(tc, tf):
        pc, pf = providers_for(tc, rule), providers_for(tf, rule)
        if _writer(pc) != _writer(pf) or _readable(pc) - _readable(pf):
            out.append(rule.yaml_string())
    return tuple(out)


def disabled_config(current: EncryptionConfiguration | None) -> EncryptionConfiguration:
    """identity for every rule ``current`` names: kcrypt's "encryption removed" file."""
    rules = _rules(table(current)) or [GroupResource("", "secrets")]
    return _layout({r: (IDENTITY,) for r in rules})


def plan(
    current: EncryptionConfiguration | None,
    final: EncryptionConfiguration,
    *,
    force_rewrite: Sequence[str] = (),
) -> Plan:
    """The phases from ``current`` to ``final`` (see the module docstring)."""
    read = merge(current, final)
    write = merge(final, current)
    phases: list[Phase] = []
    previous = current
    for name, config in (("read", read), ("write", write), ("final", final)):
        if equivalent(previous, config):
            continue
        if not (can_read(previous, config) and can_read(config, previous)):
            raise Refused(
                f"the {name} phase could not read what the phase before it writes (or the other "
                f"way round); nothing was deployed"
            )
        phases.append(Phase(name, config))
        previous = config
    rewrite = list(rewrite_rules(current, final))
    rewrite += [r for r in force_rewrite if r not in rewrite]
    return Plan(phases=tuple(phases), rewrite=tuple(rewrite))
