"""Label and field selectors with kube-apiserver's syntax and meaning.

Label selectors: ``k``, ``!k``, ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``,
``k notin (a,b)``, ``k>1``, ``k<1``, comma-separated, all must hold. As
upstream, ``k!=v`` and ``notin`` also match objects without the label.

Field selectors: ``field=v``, ``field==v``, ``field!=v``; the supported
fields are ``metadata.name`` and ``metadata.namespace`` for every resource,
plus ``type`` for secrets, ``status.phase`` for namespaces and the event
fields kubectl's describers select on (``involvedObject.*``, ``reason``,
``source``, ``type``, ``reportingComponent``), and anything else is ``field
label not supported: <f>`` (400), upstream's message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kcrypt.storage.errors import BadRequest

__all__ = ["FieldSelector", "LabelSelector", "parse_field_selector", "parse_label_selector"]

_QNAME = re.compile(r"\A([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
_DNS_SUBDOMAIN = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_SET_EXPR = re.compile(r"\A(?P<key>[^\s!=<>(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\Z")
_CMP_EXPR = re.compile(
    r"\A(?P<key>[^\s!=<>(),]+)\s*(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s!=<>(),]*)\Z"
)

_FIELDS: dict[str, frozenset[str]] = {
    "secrets": frozenset({"metadata.name", "metadata.namespace", "type"}),
    "configmaps": frozenset({"metadata.name", "metadata.namespace"}),
    "namespaces": frozenset({"metadata.name", "metadata.namespace", "status.phase"}),
    "events": frozenset(
        {"metadata.name", "metadata.namespace", "reason", "reportingComponent", "source", "type"}
        | {
            f"involvedObject.{f}"
            for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion")
        }
        | {"involvedObject.fieldPath"}
    ),
}


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # exists, !, =, !=, in, notin, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if not present:
            return False
        try:
            have, want = int(value), int(self.values[0])
        except ValueError:
            return False
        return have > want if self.op == "gt" else have < want


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if "/" in prefix or (prefix == "" and key.startswith("/")):
        raise BadRequest(f"unable to parse requirement: invalid label key {key!r}")
    if prefix and not _DNS_SUBDOMAIN.match(prefix):
        raise BadRequest(
            f"unable to parse requirement: invalid label key {key!r}: prefix part "
            "must be a lowercase RFC 1123 subdomain"
        )
    if not _QNAME.match(name) or len(name) > 63:
        raise BadRequest(
            f"unable to parse requirement: invalid label key {key!r}: name part must consist of "
            "alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character"
        )


def _check_value(value: str) -> None:
    if value and (not _QNAME.match(value) or len(value) > 63):
        raise BadRequest(
            f"unable to parse requirement: invalid label value: {value!r}: a valid label must be "
            "an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character"
        )


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse ``text``; raise :class:`BadRequest` with a readable reason."""
    if not text or not text.strip():
        return LabelSelector()
    reqs: list[Requirement] = []
    for raw in _split_top_level(text):
        part = raw.strip()
        if not part:
            raise BadRequest("unable to parse requirement: found '', expected: identifier")
        if m := _SET_EXPR.match(part):
            values = tuple(v.strip() for v in m["values"].split(","))
            if values == ("",):
                raise BadRequest(
                    "unable to parse requirement: for 'in', 'notin' operators, "
                    "values set can't be empty"
                )
            for v in values:
                _check_value(v)
            _check_key(m["key"])
            reqs.append(Requirement(m["key"], m["op"], values))
        elif m := _CMP_EXPR.match(part):
            key, op, value = m["key"], m["op"], m["value"]
            _check_key(key)
            if op in (">", "<"):
                if not re.fullmatch(r"-?[0-9]+", value):
                    raise BadRequest(
                        f"unable to parse requirement: for 'Gt', 'Lt' operators, "
                        f"the value must be an integer: {value!r}"
                    )
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
            else:
                _check_value(value)
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
        elif part.startswith("!"):
            _check_key(part[1:].strip())
            reqs.append(Requirement(part[1:].strip(), "!"))
        elif re.fullmatch(r"[^\s!=<>(),]+", part):
            _check_key(part)
            reqs.append(Requirement(part, "exists"))
        else:
            raise BadRequest(f"unable to parse requirement: {part!r} is not a valid requirement")
    return LabelSelector(tuple(reqs))


@dataclass(frozen=True, slots=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...] = ()  # (field, equal?, value)

    @property
    def empty(self) -> bool:
        return not self.terms

    def exact(self, field: str) -> str | None:
        """The value ``field`` must equal, when the selector pins it."""
        for f, eq, v in self.terms:
            if f == field and eq:
                return v
        return None

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, f) == v) == eq for f, eq, v in self.terms)


def _field_value(obj: Mapping[str, Any], field: str) -> str:
    if field == "source":  # an event's source: its component, else the reporting controller
        source = obj.get("source")
        component = source.get("component") if isinstance(source, Mapping) else None
        return component or _field_value(obj, "reportingComponent")
    cur: Any = obj
    for part in field.split("."):
        cur = cur.get(part) if isinstance(cur, Mapping) else None
    return cur if isinstance(cur, str) else ""


def _split_unescaped(text: str, sep: str) -> list[str]:
    out, buf, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return out


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_field_selector(text: str | None, *, resource: str) -> FieldSelector:
    """Parse ``text`` for ``resource``; unsupported fields are a :class:`BadRequest`."""
    if not text or not text.strip():
        return FieldSelector()
    allowed = _FIELDS.get(resource, frozenset({"metadata.name", "metadata.namespace"}))
    terms: list[tuple[str, bool, str]] = []
    for part in _split_unescaped(text, ","):
        m = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)(.*)", part, flags=re.S)
        if m is None:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m[1], m[2], _unescape(m[3])
        if field not in allowed:
            raise BadRequest(f"field label not supported: {field}")
        terms.append((field, op != "!=", value))
    return FieldSelector(tuple(terms))
