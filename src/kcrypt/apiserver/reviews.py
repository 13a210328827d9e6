"""Access reviews: ``kubectl auth can-i`` and ``kubectl auth whoami``.

kcrypt has one identity: whoever presents the server's token is its
administrator and may do everything (there is no RBAC to consult). The
reviews say exactly that, in upstream's shapes:

* ``SelfSubjectAccessReview``: ``allowed: true`` for any well-formed
  question (exactly one of resource or non-resource attributes, else 422
  with upstream's message);
* ``SelfSubjectRulesReview``: one rule allowing every verb on every
  resource of every group, and every non-resource URL;
* ``SelfSubjectReview``: the user ``system:admin`` in the groups
  ``system:masters`` and ``system:authenticated``, as k3s's admin is.

Create-only resources: POST answers 201 with the review and its status;
nothing is stored. kubectl 1.32 sends these bodies as protobuf.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kcrypt import codec
from kcrypt.apiserver import negotiation as neg
from kcrypt.apiserver.body import read_body
from kcrypt.apiserver.errors import ApiError, invalid_options
from kcrypt.apiserver.fielderrors import invalid

__all__ = ["ADMIN_GROUPS", "ADMIN_USER", "review"]

ADMIN_USER = "system:admin"
ADMIN_GROUPS = ["system:masters", "system:authenticated"]
REASON = "kcrypt: the server's token is its administrator's and may do everything"

Obj = dict[str, Any]
_KINDS = {
    "selfsubjectaccessreviews": ("authorization.k8s.io", "SelfSubjectAccessReview"),
    "selfsubjectrulesreviews": ("authorization.k8s.io", "SelfSubjectRulesReview"),
    "selfsubjectreviews": ("authentication.k8s.io", "SelfSubjectReview"),
}


async def _decode(request: Request, group: str, kind: str) -> Obj:
    media = (request.headers.get("content-type") or neg.JSON).split(";", 1)[0].strip().lower()
    try:
        obj = codec.decode_body(media, await read_body(request))
    except codec.UnsupportedMediaType:
        raise
    except codec.CodecError as exc:
        raise ApiError.bad_request(str(exc)) from None
    if (obj.get("apiVersion"), obj.get("kind")) != (f"{group}/v1", kind):
        raise ApiError.bad_request(f"the object provided is unrecognized (must be of type {kind})")
    return obj


def _access(review: Obj) -> Obj:
    spec = review.get("spec") or {}
    resource, other = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and other is not None:
        detail = "cannot be specified in combination with resourceAttributes"
        cause = invalid("spec.nonResourceAttributes", "non-null", detail)
    elif resource is None and other is None:
        detail = "exactly one of nonResourceAttributes or resourceAttributes must be specified"
        cause = invalid("spec.resourceAttributes", "null", detail)
    else:
        return {"allowed": True, "reason": REASON}
    raise invalid_options("SelfSubjectAccessReview", [cause], group="authorization.k8s.io")


def _rules(review: Obj) -> Obj:
    return {
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        "incomplete": False,
    }


def _who(review: Obj) -> Obj:
    return {"userInfo": {"username": ADMIN_USER, "groups": list(ADMIN_GROUPS)}}


async def review(request: Request) -> Response:
    """``POST /apis/<group>/v1/<review>``: the review, answered."""
    resource = request.path_params["resource"]
    group = request.path_params["group"]
    known = _KINDS.get(resource)
    if known is None or known[0] != group or request.path_params["version"] != "v1":
        raise ApiError.not_found()
    if request.method != "POST":
        raise ApiError.method_not_allowed()
    target = neg.negotiate(request.headers.get("accept"))
    obj = await _decode(request, *known)
    answer = {"selfsubjectaccessreviews": _access, "selfsubjectrulesreviews": _rules}.get(
        resource, _who
    )
    obj["status"] = answer(obj)
    obj.setdefault("metadata", {})
    return neg.render(obj, target, code=201)
