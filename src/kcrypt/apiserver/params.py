"""Request options from query parameters and DeleteOptions bodies, validated as upstream.

Kept apart from the handlers so they read as "what the verb does", while the
rules for turning ``?limit=``, ``?dryRun=``, list queries, write options and a
DeleteOptions body into typed values -- and into kube-apiserver's 400/422
answers when they are wrong, before anything is read or written -- live here:

* numbers and booleans convert as Go converts them (:mod:`.goconv`): 400 with
  the raw ``strconv`` error, and ``watch=`` anything but ``0``/``false`` is true;
* ``resourceVersion`` parses as ``ParseUint``: a list answers 400
  ``invalid resource version: ...`` (upstream's etcd path; its watch-cache path
  answers the same input with a 500, kcrypt with this 400), a watch 422;
* ``ListOptions``, ``CreateOptions``/``UpdateOptions``/``PatchOptions`` and
  ``DeleteOptions`` get apimachinery's validation and ``NewInvalid`` messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from starlette.requests import Request

from kcrypt.apiserver import goconv
from kcrypt.apiserver.body import parse_json, read_body
from kcrypt.apiserver.errors import ApiError, invalid_options
from kcrypt.apiserver.fielderrors import forbidden, invalid, not_supported, required, too_long
from kcrypt.config._go import go_quote
from kcrypt.storage import Cause, Preconditions

__all__ = [
    "DeleteOptions",
    "ListQuery",
    "WriteOptions",
    "check_resource_version",
    "delete_options",
    "list_query",
    "query_bool",
    "query_int",
    "write_options",
]

_MAX_MANAGER = 128
_PROPAGATION = ("Foreground", "Background", "Orphan")
_MATCHES = ("Exact", "NotOlderThan")


def query_int(request: Request, name: str) -> int | None:
    """``?name=`` as Go's ParseInt reads it; absent is None, anything malformed a 400."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    try:
        return goconv.parse_int(values[0])
    except goconv.ParseError as exc:
        raise ApiError.bad_request(str(exc)) from None


def query_bool(request: Request, name: str) -> bool:
    return goconv.go_bool(request.query_params.getlist(name))


def _rv_error(value: str) -> str | None:
    """ParseUint's complaint about ``value`` as a resourceVersion, or None."""
    if value in ("", "0"):
        return None
    try:
        goconv.parse_uint(value)
    except goconv.ParseError as exc:
        return str(exc)
    return None


def _rv_invalid(value: str, problem: str) -> str:
    return f"resourceVersion: Invalid value: {go_quote(value)}: {problem}"


def check_resource_version(value: str | None) -> None:
    """A list/get ``resourceVersion``: 400 ``invalid resource version: ...``."""
    problem = _rv_error(value or "")
    if problem is not None:
        raise ApiError.bad_request(f"invalid resource version: {_rv_invalid(value or '', problem)}")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """List and watch options, already validated."""

    limit: int
    continue_token: str | None
    label_selector: str | None
    field_selector: str | None
    resource_version: str | None
    resource_version_match: str | None
    watch: bool
    timeout_seconds: int | None


def _list_causes(q: dict[str, str | None], *, watch: bool) -> list[Cause]:
    """apimachinery's ValidateListOptions, the rules that apply without WatchList."""
    rv, match, field = q["resourceVersion"], q["resourceVersionMatch"], "resourceVersionMatch"
    if not match:
        return []
    if watch:
        detail = "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
    elif not rv:
        detail = "resourceVersionMatch is forbidden unless resourceVersion is provided"
    elif q["continue"]:
        detail = "resourceVersionMatch is forbidden when continue is provided"
    elif match not in _MATCHES:
        return [not_supported(field, go_quote(match), [*_MATCHES, ""])]
    elif match == "Exact" and rv == "0":
        detail = 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
    else:
        return []
    return [forbidden(field, detail)]


def list_query(request: Request, *, resource: str) -> ListQuery:
    """The list (or watch) options of ``request``; every malformed one is a 4xx."""
    params = request.query_params
    limit = query_int(request, "limit") or 0
    timeout = query_int(request, "timeoutSeconds")
    watch = query_bool(request, "watch")
    raw = {k: params.get(k) for k in ("resourceVersion", "resourceVersionMatch", "continue")}
    if params.getlist("sendInitialEvents") and not watch:
        detail = "sendInitialEvents is forbidden for list"
        raise invalid_options("ListOptions", [forbidden("sendInitialEvents", detail)])
    causes = _list_causes(raw, watch=watch)
    if causes:
        raise invalid_options("ListOptions", causes)
    rv = raw["resourceVersion"]
    problem = _rv_error(rv or "")
    if problem is not None:
        assert rv is not None
        if watch:  # storage's InvalidError through InterpretWatchError: NewInvalid(resource)
            raise invalid_options(resource, [invalid("resourceVersion", rv, problem)], group="")
        raise ApiError.bad_request(f"invalid resource version: {_rv_invalid(rv, problem)}")
    if raw["continue"] and rv not in (None, "", "0"):
        raise ApiError.bad_request("specifying resource version is not allowed when using continue")
    return ListQuery(
        limit=limit,
        continue_token=raw["continue"] or None,
        label_selector=params.get("labelSelector"),
        field_selector=params.get("fieldSelector"),
        resource_version=rv,
        resource_version_match=raw["resourceVersionMatch"] or None,
        watch=watch,
        timeout_seconds=timeout,
    )


# -- writes --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """Create/Update/Patch options: ``field_manager`` is already defaulted."""

    dry_run: bool
    field_manager: str
    field_validation: str
    force: bool


def _dry_run_causes(values: list[str]) -> list[Cause]:
    if all(v == "All" for v in values):
        return []
    shown = "[]string{" + ", ".join(go_quote(v) for v in values) + "}"
    return [not_supported("dryRun", shown, ["All"])]


def _manager_causes(manager: str) -> list[Cause]:
    causes = []
    if len(manager.encode()) > _MAX_MANAGER:
        causes.append(too_long("fieldManager", _MAX_MANAGER))
    for i, ch in enumerate(manager):
        if not ch.isprintable():  # Go's unicode.IsPrint: no controls, no separators but " "
            detail = f"invalid character U+{ord(ch):04X} (at position {i})"
            causes.append(invalid("fieldManager", manager, detail))
    return causes


def default_manager(user_agent: str | None) -> str:
    """``managerOrUserAgent``: the User-Agent up to its first ``/``, printable, 128 bytes."""
    prefix = (user_agent or "").split("/", 1)[0]
    kept = "".join(ch for ch in prefix if ch.isprintable())
    return kept.encode()[:_MAX_MANAGER].decode("utf-8", "ignore")


def write_options(request: Request, *, verb: str, apply: bool = False) -> WriteOptions:
    """``verb`` is Create, Update or Patch; ``apply`` marks a server-side apply patch."""
    params = request.query_params
    causes = _dry_run_causes(params.getlist("dryRun"))
    manager = params.get("fieldManager")
    force_given = bool(params.getlist("force"))
    if manager is not None:
        causes += _manager_causes(manager)
    if apply and not manager:
        causes.append(required("fieldManager", "is required for apply patch"))
    if force_given and not apply:
        causes.append(forbidden("force", "may not be specified for non-apply patch"))
    if causes:
        raise invalid_options(f"{verb}Options", causes)
    return WriteOptions(
        dry_run=bool(params.getlist("dryRun")),
        field_manager=manager or default_manager(request.headers.get("user-agent")),
        field_validation=params.get("fieldValidation", ""),
        force=query_bool(request, "force"),
    )


# -- delete --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    """What a DELETE asks for; ``propagation`` is validated but only recorded (no GC)."""

    preconditions: Preconditions | None
    dry_run: bool
    propagation: str | None


def _options_from_query(request: Request) -> dict[str, Any]:
    options: dict[str, Any] = {}
    params = request.query_params
    if params.getlist("dryRun"):
        options["dryRun"] = params.getlist("dryRun")
    if params.getlist("propagationPolicy"):
        options["propagationPolicy"] = params.getlist("propagationPolicy")[0]
    if params.getlist("orphanDependents"):
        options["orphanDependents"] = query_bool(request, "orphanDependents")
    grace = query_int(request, "gracePeriodSeconds")
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    return options


async def _options_from_body(request: Request, body: bytes) -> dict[str, Any]:
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            options = yaml.safe_load(body)
        except yaml.YAMLError:
            raise ApiError.bad_request("the DeleteOptions body is not valid YAML") from None
    elif media in ("", "application/json"):
        options = parse_json(body, what="the DeleteOptions body")
    else:
        return {}  # protobuf DeleteOptions: kubectl and client-go send JSON
    if not isinstance(options, dict) or options.get("kind") not in (None, "", "DeleteOptions"):
        raise ApiError.bad_request("decoded object cannot be converted to DeleteOptions")
    return options


def _delete_causes(options: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    policy = options.get("propagationPolicy")
    if options.get("orphanDependents") is not None and policy is not None:
        detail = "orphanDependents and deletionPropagation cannot be both set"
        causes.append(invalid("propagationPolicy", str(policy), detail))
    if policy is not None and policy not in _PROPAGATION:
        shown = go_quote(str(policy))
        causes.append(not_supported("propagationPolicy", shown, [*_PROPAGATION, "nil"]))
    dry = options.get("dryRun") or []
    if not isinstance(dry, list) or not all(isinstance(v, str) for v in dry):
        raise ApiError.bad_request("DeleteOptions.dryRun must be a list of strings")
    return causes + _dry_run_causes(dry)


async def delete_options(request: Request) -> DeleteOptions:
    """The body's DeleteOptions when there is a body, else the query's (as upstream)."""
    body = await read_body(request)
    options = await _options_from_body(request, body) if body.strip() else {}
    if not body.strip():
        options = _options_from_query(request)
    causes = _delete_causes(options)
    if causes:
        raise invalid_options("DeleteOptions", causes)
    pre = options.get("preconditions") or {}
    preconditions = (
        Preconditions(uid=pre.get("uid"), resource_version=pre.get("resourceVersion"))
        if isinstance(pre, dict) and pre
        else None
    )
    policy = options.get("propagationPolicy")
    return DeleteOptions(
        preconditions=preconditions,
        dry_run=bool(options.get("dryRun")),
        propagation=policy if isinstance(policy, str) else None,
    )
