"""Strict decoding of an EncryptionConfiguration, like kube-apiserver's universal decoder.

Upstream converts YAML to JSON, reads ``apiVersion``/``kind``, looks the kind up in
its scheme and then unmarshals strictly: unknown and duplicate fields are
collected into one ``strict decoding error: ...``; a wrong JSON type stops
decoding with Go's ``json: cannot unmarshal ...``. This module reproduces that
order and those texts. It never puts file content into a message: upstream's
``Object 'Kind' is missing in '<whole file>'`` would print key secrets, so the
content is replaced by ``<file content redacted>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from kcrypt.config._go import go_quote, parse_duration
from kcrypt.config.model import (
    DEFAULT_KMS_CACHESIZE,
    DEFAULT_KMS_TIMEOUT_SECONDS,
    EncryptionConfiguration,
    IdentityConfiguration,
    KeyConfiguration,
    KeysConfiguration,
    KMSConfiguration,
    ProviderConfiguration,
    ResourceConfiguration,
)

__all__ = ["DecodeError", "UnexpectedConfigType", "decode"]

GROUP = "apiserver.config.k8s.io"
# runtime.NewScheme() names a scheme after its call site; kube-apiserver's is this line.
SCHEME_NAME = "k8s.io/apiserver/pkg/server/options/encryptionconfig/config.go:142"
REGISTERED = {(GROUP, "v1", "EncryptionConfiguration"), ("", "v1", "EncryptionConfig")}
# Other kinds kube-apiserver's config scheme knows: they decode, then are refused.
SIBLINGS = {
    (GROUP, "v1", kind)
    for kind in (
        "AdmissionConfiguration",
        "AuthenticationConfiguration",
        "AuthorizationConfiguration",
        "TracingConfiguration",
    )
}
REDACTED_CONTENT = "<file content redacted>"


class DecodeError(Exception):
    """Internal: the decoder's message (no wrapping, no file content)."""


class UnexpectedConfigType(Exception):
    """Internal: a kind the scheme knows that is not an EncryptionConfiguration."""


class _Dict(dict[str, Any]):
    """A mapping that remembers keys the source repeated (and where)."""

    duplicates: list[tuple[str, int]]


class _Loader(yaml.SafeLoader):
    """SafeLoader that records duplicate keys instead of silently keeping the last."""

    duplicates: list[tuple[str, int]]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Dict:
    loader.flatten_mapping(node)
    out = _Dict()
    out.duplicates = []
    for key_node, value_node in node.value:
        key = _key_text(loader.construct_object(key_node, deep=True))
        if key in out:
            loader.duplicates.append((key, key_node.start_mark.line + 1))
        out[key] = loader.construct_object(value_node, deep=True)
    return out


def _key_text(key: object) -> str:
    # sigs.k8s.io/yaml turns non-string keys into their text, as JSON needs.
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs: list[tuple[str, Any]]) -> _Dict:
    out = _Dict()
    out.duplicates = []
    for key, value in pairs:
        if key in out:
            out.duplicates.append((key, 0))
        out[key] = value
    return out


def _parse(data: bytes) -> tuple[object, list[str]]:
    """Bytes -> (document, strict errors found while parsing)."""
    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        # kube-apiserver's recognizer sends '{'-documents to its JSON serializer.
        try:
            return json.loads(text, object_pairs_hook=_json_pairs), []
        except json.JSONDecodeError as exc:
            detail = exc.msg
        raise DecodeError(f"couldn't get version/kind; json parse error: {detail}")
    loader = _Loader(text)
    loader.duplicates = []
    problem = ""
    try:
        doc = loader.get_data() if loader.check_data() else None  # type: ignore[no-untyped-call]
    except yaml.MarkedYAMLError as exc:
        # Only the problem and the line: PyYAML's snippet could show a secret.
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        problem = f"yaml: line {line}: {exc.problem or exc.context}"
    except yaml.YAMLError:
        problem = "yaml: invalid document"
    finally:
        loader.dispose()
    if problem:
        raise DecodeError(f"error converting YAML to JSON: {problem}")
    strict = []
    if loader.duplicates:
        lines = "".join(
            f"\n  line {line}: key {go_quote(key)} already set in map"
            for key, line in loader.duplicates
        )
        strict.append(f"error converting YAML to JSON: yaml: unmarshal errors:{lines}")
    return doc, strict


def _kind_of(value: object) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object"


class _Decoder:
    """Walks the parsed document in file order, like Go's strict json decoder."""

    def __init__(self, strict: list[str]) -> None:
        self.strict = strict

    def type_error(self, value: object, struct: str, names: list[str], gotype: str) -> DecodeError:
        kind = _kind_of(value)
        if kind == "number" and gotype == "int32":
            kind = f"number {value}"
        where = ".".join([struct, *names])
        return DecodeError(
            f"json: cannot unmarshal {kind} into Go struct field {where} of type {gotype}"
        )

    def fields(
        self,
        obj: dict[str, Any],
        path: str,
        names: list[str],
        known: dict[str, Callable[[Any, str, list[str]], Any]],
    ) -> dict[str, Any]:
        for key, _ in getattr(obj, "duplicates", []):
            self.strict.append(f"duplicate field {go_quote(_join(path, key))}")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key not in known:
                self.strict.append(f"unknown field {go_quote(_join(path, key))}")
                continue
            out[key] = known[key](value, _join(path, key), [*names, key])
        return out

    def obj(
        self, value: object, struct: str, names: list[str], gotype: str
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.type_error(value, struct, names, gotype)
        return value

    def string(self, struct: str) -> Callable[[Any, str, list[str]], str]:
        def parse(value: Any, path: str, names: list[str]) -> str:
            if value is None:
                return ""
            if not isinstance(value, str):
                raise self.type_error(value, struct, names, "string")
            return value

        return parse

    def array(
        self, struct: str, gotype: str, item: Callable[[Any, str, list[str]], Any]
    ) -> Callable[[Any, str, list[str]], tuple[Any, ...]]:
        def parse(value: Any, path: str, names: list[str]) -> tuple[Any, ...]:
            if value is None:
                return ()
            if not isinstance(value, list):
                raise self.type_error(value, struct, names, gotype)
            return tuple(item(v, f"{path}[{i}]", names) for i, v in enumerate(value))

        return parse

    def config(self, doc: dict[str, Any]) -> EncryptionConfiguration:
        known = {
            "kind": self.string("EncryptionConfiguration"),
            "apiVersion": self.string("EncryptionConfiguration"),
            "resources": self.array(
                "EncryptionConfiguration", "[]v1.ResourceConfiguration", self.entry
            ),
        }
        out = self.fields(doc, "", [], known)
        return EncryptionConfiguration(resources=out.get("resources", ()))

    def entry(self, value: Any, path: str, names: list[str]) -> ResourceConfiguration:
        struct = "ResourceConfiguration"
        obj = self.obj(value, "EncryptionConfiguration", names, "v1.ResourceConfiguration")
        if obj is None:
            return ResourceConfiguration()
        known = {
            "resources": self.array(struct, "[]string", self.string(struct)),
            "providers": self.array(struct, "[]v1.ProviderConfiguration", self.provider),
        }
        out = self.fields(obj, path, names, known)
        return ResourceConfiguration(out.get("resources", ()), out.get("providers", ()))

    def provider(self, value: Any, path: str, names: list[str]) -> ProviderConfiguration:
        obj = self.obj(value, "ResourceConfiguration", names, "v1.ProviderConfiguration")
        if obj is None:
            return ProviderConfiguration()
        known: dict[str, Callable[[Any, str, list[str]], Any]] = {
            "aesgcm": self.keys("v1.AESConfiguration"),
            "aescbc": self.keys("v1.AESConfiguration"),
            "secretbox": self.keys("v1.SecretboxConfiguration"),
            "identity": self.identity,
            "kms": self.kms,
        }
        return ProviderConfiguration(**self.fields(obj, path, names, known))

    def keys(self, gotype: str) -> Callable[[Any, str, list[str]], KeysConfiguration | None]:
        struct = gotype.removeprefix("v1.")

        def parse(value: Any, path: str, names: list[str]) -> KeysConfiguration | None:
            obj = self.obj(value, "ProviderConfiguration", names, gotype)
            if obj is None:
                return None
            known = {"keys": self.array(struct, "[]v1.Key", self.key(struct))}
            return KeysConfiguration(self.fields(obj, path, names, known).get("keys", ()))

        return parse

    def key(self, parent: str) -> Callable[[Any, str, list[str]], KeyConfiguration]:
        def parse(value: Any, path: str, names: list[str]) -> KeyConfiguration:
            obj = self.obj(value, parent, names, "v1.Key") or {}
            known = {"name": self.string("Key"), "secret": self.string("Key")}
            out = self.fields(obj, path, names, known)
            return KeyConfiguration(out.get("name", ""), out.get("secret", ""))

        return parse

    def identity(self, value: Any, path: str, names: list[str]) -> IdentityConfiguration | None:
        obj = self.obj(value, "ProviderConfiguration", names, "v1.IdentityConfiguration")
        if obj is None:
            return None
        self.fields(obj, path, names, {})
        return IdentityConfiguration()

    def kms(self, value: Any, path: str, names: list[str]) -> KMSConfiguration | None:
        obj = self.obj(value, "ProviderConfiguration", names, "v1.KMSConfiguration")
        if obj is None:
            return None
        struct = "KMSConfiguration"
        known = {
            "apiVersion": self.string(struct),
            "name": self.string(struct),
            "endpoint": self.string(struct),
            "cachesize": self.int32,
            "timeout": self.duration,
        }
        out = self.fields(obj, path, names, known)
        # SetDefaults_KMSConfiguration
        api_version = out.get("apiVersion") or "v1"
        cachesize = out.get("cachesize")
        if cachesize is None and api_version == "v1":
            cachesize = DEFAULT_KMS_CACHESIZE
        timeout = out.get("timeout")
        return KMSConfiguration(
            api_version=api_version,
            name=out.get("name", ""),
            endpoint=out.get("endpoint", ""),
            cachesize=cachesize,
            timeout_seconds=DEFAULT_KMS_TIMEOUT_SECONDS if timeout is None else timeout,
        )

    def int32(self, value: Any, path: str, names: list[str]) -> int | None:
        if value is None:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or value != int(value) or not -(2**31) <= value < 2**31:
            raise self.type_error(value, "KMSConfiguration", names, "int32")
        return int(value)

    def duration(self, value: Any, path: str, names: list[str]) -> float | None:
        if value is None:
            return None
        if not isinstance(value, str):
            # metav1.Duration.UnmarshalJSON first unmarshals a plain Go string.
            raise DecodeError(
                f"json: cannot unmarshal {_kind_of(value)} into Go value of type string"
            )
        try:
            return parse_duration(value)
        except ValueError as exc:
            message = str(exc)
        raise DecodeError(message)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def decode(data: bytes) -> EncryptionConfiguration:
    """Decode a non-empty file; raise DecodeError / UnexpectedConfigType with upstream's text."""
    doc, strict = _parse(data)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise DecodeError(
            f"couldn't get version/kind; json parse error: json: cannot unmarshal {_kind_of(doc)} "
            'into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
            'Kind string "json:\\"kind,omitempty\\"" }'
        )
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    for name, value in (("kind", kind), ("apiVersion", api_version)):
        if value is not None and not isinstance(value, str):
            raise DecodeError(
                f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                f"{_kind_of(value)} into Go struct field .{name} of type string"
            )
    kind, api_version = kind or "", api_version or ""
    group, _, version = api_version.rpartition("/") if "/" in api_version else ("", "", api_version)
    if api_version.count("/") > 1:
        group, version = "", ""
    if not kind:
        raise DecodeError(f"Object 'Kind' is missing in '{REDACTED_CONTENT}'")
    if not version:
        raise DecodeError(f"Object 'apiVersion' is missing in '{REDACTED_CONTENT}'")
    gvk = (group, version, kind)
    gv = f"{group}/{version}" if group else version
    if gvk in SIBLINGS:
        raise UnexpectedConfigType(f"{gv}, Kind={kind}")
    if gvk not in REGISTERED:
        raise DecodeError(
            f"no kind {go_quote(kind)} is registered for version {go_quote(gv)} "
            f"in scheme {go_quote(SCHEME_NAME)}"
        )
    decoder = _Decoder(strict)
    config = decoder.config(doc)
    if decoder.strict:
        raise DecodeError("strict decoding error: " + ", ".join(decoder.strict))
    return config
