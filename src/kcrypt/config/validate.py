"""kube-apiserver's EncryptionConfiguration validation, rule for rule.

A port of ``ValidateEncryptionConfiguration`` (k8s.io/apiserver
``pkg/apis/apiserver/validation/validation_encryption.go``): same order, same
texts, same field paths, so a file kube-apiserver rejects is rejected here with
the same message. One function per upstream rule group.

One deliberate difference: for a provider element with several types set,
upstream renders the whole element with ``encoding/json`` -- key secrets
included. Here the same shape is rendered with each secret replaced by
``"REDACTED"`` (the word upstream itself uses for bad keys), because a key must
never reach a log or a terminal through an error message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from kcrypt.config._go import format_duration, go_quote
from kcrypt.config.errors import INVALID, REQUIRED, FieldError
from kcrypt.config.model import (
    EncryptionConfiguration,
    KeyConfiguration,
    KMSConfiguration,
    ProviderConfiguration,
)
from kcrypt.config.resolve import ANY_GROUP_ANY_RESOURCE, GroupResource

__all__ = ["AES_KEY_SIZES", "SECRETBOX_KEY_SIZES", "decode_secret", "validate"]

MORE_THAN_ONE_ELEMENT = (
    "more than one provider specified in a single element, "
    "should split into different list elements"
)
NO_PROVIDER = (
    "provider does not contain any of the expected providers: "
    "KMS, AESGCM, AESCBC, Secretbox, Identity"
)
EVENTS_GROUP = (
    "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. "
    "Use 'events' instead in the config file"
)
EXTENSIONS_GROUP = "'extensions' group has been removed and cannot be used for encryption"
STAR_RESOURCE = (
    "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"
)
OVERLAP = (
    "using overlapping resources such as 'secrets' and '*.' in the same resource list "
    "is not allowed as they will be masked"
)
NON_REST_RESOURCE = "resources which do not have REST API/s cannot be encrypted"
RESOURCE_NAME = "resource name should not contain capital letters"
RESOURCE_ACROSS_GROUPS = "encrypting the same resource across groups is not supported"
DUPLICATE_RESOURCE = "the same resource cannot be specified multiple times"
BASE64_ENCODING = "secrets must be base64 encoded"
NON_REST_RESOURCES = frozenset(
    {"apiserveripinfo", "serviceipallocations", "servicenodeportallocations"}
)

AES_KEY_SIZES = (16, 24, 32)
SECRETBOX_KEY_SIZES = (32,)


def validate(config: EncryptionConfiguration, *, reload: bool = False) -> tuple[FieldError, ...]:
    """All field errors, in upstream order (not yet de-duplicated; see ConfigInvalid)."""
    root = "resources"
    if not config.resources:
        return (FieldError(REQUIRED, root, f"at least one {root} is required"),)
    errs: list[FieldError] = []
    kms_names: set[str] = set()
    for i, entry in enumerate(config.resources):
        r, p = f"{root}[{i}].resources", f"{root}[{i}].providers"
        if not entry.resources:
            errs.append(FieldError(REQUIRED, r, f"at least one {r} is required"))
        errs += validate_resource_overlap(entry.resources, r)
        errs += validate_resource_names(entry.resources, r)
        if not entry.providers:
            errs.append(FieldError(REQUIRED, p, f"at least one {p} is required"))
        for j, provider in enumerate(entry.providers):
            path = f"{p}[{j}]"
            errs += validate_single_provider(provider, path)
            if provider.kms is not None:
                errs += validate_kms(provider.kms, f"{path}.kms", kms_names, reload=reload)
                kms_names.add(provider.kms.name)
            elif provider.aesgcm is not None:
                errs += validate_keys(provider.aesgcm.keys, f"{path}.aesgcm.keys", AES_KEY_SIZES)
            elif provider.aescbc is not None:
                errs += validate_keys(provider.aescbc.keys, f"{path}.aescbc.keys", AES_KEY_SIZES)
            elif provider.secretbox is not None:
                keys = provider.secretbox.keys
                errs += validate_keys(keys, f"{path}.secretbox.keys", SECRETBOX_KEY_SIZES)
    return tuple(errs)


def validate_resource_overlap(resources: Sequence[str], path: str) -> list[FieldError]:
    """One duplicate error and one overlap error at most, for the whole list."""
    if len(resources) < 2:
        return []
    parsed = [GroupResource.parse(r) for r in resources]
    has_duplicate = has_overlap = False
    for i, r1 in enumerate(parsed):
        for j, r2 in enumerate(parsed):
            if i == j:
                continue
            if r1 == r2 and not has_duplicate:
                has_duplicate = True
                continue
            if has_overlap:
                continue
            if r1 == ANY_GROUP_ANY_RESOURCE:
                has_overlap = True
                continue
            if r1.group != r2.group:
                continue
            if r1.resource == "*" or r2.resource == "*":
                has_overlap = True
    errs = []
    if has_duplicate:
        errs.append(FieldError(INVALID, path, DUPLICATE_RESOURCE, list(resources)))
    if has_overlap:
        errs.append(FieldError(INVALID, path, OVERLAP, list(resources)))
    return errs


def validate_resource_names(resources: Sequence[str], path: str) -> list[FieldError]:
    """The first matching rule per resource string."""
    errs = []
    for j, res in enumerate(resources):
        gr = GroupResource.parse(res)
        if res.lower() != res:
            detail = RESOURCE_NAME
        elif res == "*":
            detail = STAR_RESOURCE
        elif res in NON_REST_RESOURCES:
            detail = NON_REST_RESOURCE
        elif gr.group == "events.k8s.io":
            detail = EVENTS_GROUP
        elif gr.group == "extensions":
            detail = EXTENSIONS_GROUP
        elif gr.group == "*" and gr.resource != "*":
            detail = RESOURCE_ACROSS_GROUPS
        else:
            continue
        errs.append(FieldError(INVALID, f"{path}[{j}]", detail, res))
    return errs


def validate_single_provider(provider: ProviderConfiguration, path: str) -> list[FieldError]:
    found = len(provider.kinds())
    if found == 0:
        return [FieldError(INVALID, path, NO_PROVIDER, provider_json(provider))]
    if found > 1:
        return [FieldError(INVALID, path, MORE_THAN_ONE_ELEMENT, provider_json(provider))]
    return []


def provider_json(provider: ProviderConfiguration) -> dict[str, object]:
    """The element as upstream's ``json.Marshal`` of its internal struct prints it
    (Go field names, no tags) -- except that every secret reads ``REDACTED``.
    An empty ``keys`` list prints ``null`` (the model does not keep nil vs empty)."""

    def keys(cfg: object) -> object:
        if cfg is None:
            return None
        ks = [{"Name": k.name, "Secret": "REDACTED"} for k in getattr(cfg, "keys", ())]
        return {"Keys": ks or None}

    kms = provider.kms
    return {
        "AESGCM": keys(provider.aesgcm),
        "AESCBC": keys(provider.aescbc),
        "Secretbox": keys(provider.secretbox),
        "Identity": None if provider.identity is None else {},
        "KMS": None
        if kms is None
        else {
            "APIVersion": kms.api_version,
            "Name": kms.name,
            "CacheSize": kms.cachesize,
            "Endpoint": kms.endpoint,
            "Timeout": format_duration(kms.timeout_seconds),
        },
    }


def decode_secret(secret: str) -> bytes:
    """Go's ``base64.StdEncoding.DecodeString``: padded alphabet; CR/LF are skipped.

    Raises ValueError (without the secret in the message) if it is not base64.
    """
    cleaned = secret.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(cleaned.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(BASE64_ENCODING) from None


def validate_keys(
    keys: Sequence[KeyConfiguration], path: str, sizes: Sequence[int]
) -> list[FieldError]:
    if not keys:
        return [FieldError(REQUIRED, path, "at least one keys is required")]
    errs: list[FieldError] = []
    for i, key in enumerate(keys):
        errs += validate_key(key, f"{path}[{i}]", sizes)
    return errs


def validate_key(key: KeyConfiguration, path: str, sizes: Sequence[int]) -> list[FieldError]:
    errs = []
    if not key.name:
        errs.append(FieldError(REQUIRED, f"{path}.name", "name is a mandatory field for a key"))
    if not key.secret:
        errs.append(FieldError(REQUIRED, f"{path}.secret", "secret is a mandatory field for a key"))
        return errs
    try:
        secret = decode_secret(key.secret)
    except ValueError:
        errs.append(FieldError(INVALID, f"{path}.secret", BASE64_ENCODING, "REDACTED"))
        return errs
    if len(secret) not in sizes:
        sizes_text = "[" + " ".join(str(s) for s in sizes) + "]"
        detail = (
            f"secret is not of the expected length, got {len(secret)}, expected one of {sizes_text}"
        )
        errs.append(FieldError(INVALID, f"{path}.secret", detail, "REDACTED"))
    return errs


def validate_kms(
    kms: KMSConfiguration, path: str, seen_names: set[str], *, reload: bool
) -> list[FieldError]:
    """Upstream order: name, timeout, endpoint, cachesize, apiVersion."""
    return [
        *validate_kms_name(kms, f"{path}.name", seen_names, reload=reload),
        *validate_kms_timeout(kms, f"{path}.timeout"),
        *validate_kms_endpoint(kms, f"{path}.endpoint"),
        *validate_kms_cachesize(kms, f"{path}.cachesize"),
        *validate_kms_api_version(kms, f"{path}.apiVersion"),
    ]


def validate_kms_name(
    kms: KMSConfiguration, path: str, seen_names: set[str], *, reload: bool
) -> list[FieldError]:
    errs = []
    if not kms.name:
        errs.append(FieldError(REQUIRED, path, "name is a mandatory field for a provider"))
    if kms.api_version != "v1" and ":" in kms.name:
        detail = f"invalid KMS provider name {kms.name}, must not contain ':'"
        errs.append(FieldError(INVALID, path, detail, kms.name))
    # v2 names are unique across all KMS providers; v1 names too when reloading.
    if (reload or kms.api_version != "v1") and kms.name in seen_names:
        detail = f"duplicate KMS provider name {kms.name}, names must be unique"
        errs.append(FieldError(INVALID, path, detail, kms.name))
    return errs


def validate_kms_timeout(kms: KMSConfiguration, path: str) -> list[FieldError]:
    if kms.timeout_seconds <= 0:
        value = format_duration(kms.timeout_seconds)
        return [FieldError(INVALID, path, "timeout should be a positive value", value)]
    return []


def validate_kms_endpoint(kms: KMSConfiguration, path: str) -> list[FieldError]:
    if not kms.endpoint:
        return [FieldError(INVALID, path, "endpoint is a mandatory field for a kms", "")]
    try:
        scheme = url_scheme(kms.endpoint)
    except ValueError as exc:
        detail = f"invalid endpoint for kms provider, error: {exc}"
        return [FieldError(INVALID, path, detail, kms.endpoint)]
    if scheme != "unix":
        detail = f"unsupported scheme {go_quote(scheme)} for KMS provider, only unix is supported"
        return [FieldError(INVALID, path, detail, kms.endpoint)]
    return []


def url_scheme(raw: str) -> str:
    """The scheme Go's ``url.Parse`` finds (lower-cased), or its error.

    Covers the checks that decide the scheme: control characters, a missing
    scheme before ':', and a colon in the first path segment. Errors about the
    host part (ports, brackets) are not reproduced.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ValueError(f"parse {go_quote(raw)}: net/url: invalid control character in URL")
    scheme, rest = "", raw
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                raise ValueError(f"parse {go_quote(raw)}: missing protocol scheme")
            scheme, rest = raw[:i].lower(), raw[i + 1 :]
        break
    if not scheme:
        first = rest.split("?", 1)[0].split("#", 1)[0].split("/", 1)[0]
        if ":" in first:
            raise ValueError(
                f"parse {go_quote(raw)}: first path segment in URL cannot contain colon"
            )
    return scheme


def validate_kms_cachesize(kms: KMSConfiguration, path: str) -> list[FieldError]:
    errs = []
    if kms.api_version != "v1" and kms.cachesize is not None:
        errs.append(FieldError(INVALID, path, "cachesize is not supported in v2", kms.cachesize))
    if kms.api_version == "v1" and kms.cachesize == 0:
        detail = "cachesize should be a positive value, or negative to disable"
        errs.append(FieldError(INVALID, path, detail, kms.cachesize))
    return errs


def validate_kms_api_version(kms: KMSConfiguration, path: str) -> list[FieldError]:
    if kms.api_version not in ("v1", "v2"):
        # Upstream formats the literal word "apiVersion" into the message (asserted by its tests).
        detail = "unsupported apiVersion apiVersion for KMS provider, only v1 and v2 are supported"
        return [FieldError(INVALID, path, detail, kms.api_version)]
    return []
