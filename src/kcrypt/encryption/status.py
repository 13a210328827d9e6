"""The ``secrets-encrypt status`` view: computed per request, never stored.

Server side, :func:`status_document` builds k3s's ``EncryptionState`` JSON
(field order stage, activekey, enable, hashmatch, hasherror, inactivekeys;
``hashmatch`` omitted when false, keys as ``"<Type> <name>"``) plus kcrypt's
optional ``reencrypt`` progress object. Client side, :func:`render_text` and
:func:`render_json` print it exactly as k3s's CLI does::

    Encryption Status: Enabled
    Current Rotation Stage: rotate
    Server Encryption Hashes: hash does not match between node-1 and node-2

    Active  Key Type  Name
    ------  --------  ----
     *      AES-CBC   aescbckey-2021-12-10T22:54:38Z
            AES-CBC   aescbckey

(a leading blank line before the table, which Go's tabwriter pads with 2
spaces, and a trailing blank line from ``fmt.Println``). Without a config the
whole output is ``Encryption Status: Disabled, no configuration file found``.

On a config with KMS providers (an operator's own file), they are rows of the
key table as ``KMSv2 <name>`` / ``KMSv1 <name>`` and the JSON gets a ``kms``
array (``name``, ``apiVersion``, ``endpoint``, ``keyIDHash`` -- the sha256 of
the plugin's current key ID, never the ID --, ``healthy``); the table then
has a fourth column, ``Key ID Hash``.

Beyond k3s, when the cluster lists more than one server the JSON gets a
``servers`` array (``name``, ``state`` live/down, ``stage``, ``hash``,
``applied`` -- whether it runs the datastore's config --, ``lastSeen`` RFC 3339,
``version``, and ``conflict`` when its local file was changed by hand) and
the text ends with a per-server table after the key table::

    Server  State  Stage  Hash          Last Seen
    ------  -----  -----  ----          ---------
    s1      live   start  3f1a2b4c5d6e  2026-11-22T18:40:00Z
    s3      down   start  3f1a2b4c5d6e  2026-11-22T18:38:12Z

While the controller has something to do or wait for, the JSON gets a
``controller`` object (``action``, ``reason``, ``message``, ``node``,
``since``) and the text a line after the hashes::

    Next Step: waiting for s2 to apply config 3f1a2b4c5d6e (servers-not-converged)

and with ``--secrets-encryption-rotation-interval`` a ``rotation`` object
(``interval`` and ``activeKeyAge`` in seconds, ``nextRotation`` RFC 3339)
and the line ``Key Rotation: every 720h0m, active key 3h12m old, next at <time>``.

k3s's own fields and lines are unchanged, and an idle single server's output
stays byte-identical to k3s's.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kcrypt.encryption.keys import key_type
from kcrypt.encryption.model import KeyConfig, ReencryptProgress
from kcrypt.encryption.servers import ServerView

__all__ = [
    "hash_error",
    "progress_document",
    "progress_line",
    "render_json",
    "render_text",
    "rotation_document",
    "server_rows",
    "server_table",
    "status_document",
    "tabwrite",
]

NO_CONFIG = "Encryption Status: Disabled, no configuration file found"


class _Unset(enum.Enum):
    UNSET = 0


def _hash_error(annotations: Mapping[str, str]) -> str | None:
    """k3s's cross-server check: every ``<stage>-<hash>`` equals the first one seen.

    Servers with no record are skipped, as k3s skips unannotated nodes.
    """
    first: tuple[str, str] | None = None
    for node, value in annotations.items():
        if not value:
            continue
        if first is None:
            first = (node, value)
        elif value != first[1]:
            return f"hash does not match between {first[0]} and {node}"
    return None


def status_document(
    config: KeyConfig | None,
    stage: str,
    *,
    annotations: Mapping[str, str],
    progress: Mapping[str, Any] | None = None,
    hash_error: str | _Unset | None = _Unset.UNSET,
    servers: Sequence[Mapping[str, Any]] | None = None,
    config_hash: str = "",
    step: Mapping[str, Any] | None = None,
    rotation: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The server's status JSON: k3s's fields in k3s's order, then ``reencrypt``, ``servers``.

    ``hash_error`` (a sentence or None) replaces the check over ``annotations``
    when given (HA: :func:`kcrypt.encryption.servers.convergence` decides).
    """
    if config is None:
        doc: dict[str, Any] = {"stage": "", "activekey": ""}
        if progress:
            doc["reencrypt"] = dict(progress)
        return doc
    active = ""
    inactive: list[str] = []
    identity_seen = False
    for p in config.providers:
        if p.kind == "identity":
            identity_seen = True
            continue
        for k in p.keys:
            label = f"{key_type(p.kind)} {k.name}"
            if not active and not identity_seen:
                active = label
            else:
                inactive.append(label)
    doc = {"stage": stage, "activekey": active, "enable": config.enabled}
    error = _hash_error(annotations) if isinstance(hash_error, _Unset) else hash_error
    if error is None:
        doc["hashmatch"] = True
    else:
        doc["hasherror"] = error
    if inactive:
        doc["inactivekeys"] = inactive
    if progress:
        doc["reencrypt"] = dict(progress)
    if servers:
        doc["servers"] = [dict(s) for s in servers]
        if config_hash:
            doc["configHash"] = config_hash
    if step:
        doc["controller"] = dict(step)
    if rotation:
        doc["rotation"] = dict(rotation)
    return doc


def rotation_document(*, interval: float, activated: float, now: float) -> dict[str, Any]:
    """The ``rotation`` status object (no key material: ages and times only)."""
    age = max(0.0, now - activated) if activated else 0.0
    return {
        "interval": interval,
        "activeKeyAge": round(age, 1),
        "nextRotation": _rfc3339(activated + interval if activated else now),
    }


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else ""


def server_rows(servers: Sequence[ServerView], *, desired: str) -> list[dict[str, Any]]:
    """The ``servers`` JSON rows, in node-name order (no key material)."""
    rows: list[dict[str, Any]] = []
    for view in sorted(servers, key=lambda v: v.node):
        r = view.record
        row: dict[str, Any] = {
            "name": r.node,
            "state": "live" if view.live else "down",
            "stage": r.stage,
            "hash": r.config_hash,
            "applied": bool(view.live and r.config_hash == desired and not r.conflict),
            "lastSeen": _rfc3339(r.last_seen),
            "version": r.version,
        }
        if r.conflict:
            row["conflict"] = r.conflict
        rows.append(row)
    return rows


def server_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The per-server text table (tabwriter layout, hashes cut to 12 characters)."""
    table: list[list[str]] = [
        ["Server", "State", "Stage", "Hash", "Last Seen"],
        ["------", "-----", "-----", "----", "---------"],
    ]
    for row in rows:
        state = str(row.get("state", ""))
        if row.get("conflict"):
            state += " (local file changed by hand)"
        table.append(
            [
                str(row.get("name", "")),
                state,
                str(row.get("stage", "")) or "-",
                str(row.get("hash", ""))[:12] or "-",
                str(row.get("lastSeen", "")),
            ]
        )
    return tabwrite(table)


def progress_document(
    progress: ReencryptProgress, *, running: bool, error: str = ""
) -> dict[str, Any]:
    """kcrypt's ``reencrypt`` status object (counts, rate, ETA; no key material)."""
    doc: dict[str, Any] = {
        "running": running,
        "total": progress.total,
        "done": progress.done,
        "rewritten": progress.rewritten,
        "skipped": progress.skipped,
        "failed": progress.failed,
        "rate": round(progress.rate, 1),
        "finished": progress.finished,
    }
    eta = progress.eta
    if running and eta is not None:
        doc["eta"] = round(eta, 1)
    if error:
        doc["error"] = error
    return doc


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def progress_line(doc: Mapping[str, Any]) -> str:
    """``Reencryption Progress: 1200/10000 secrets (12.0%), 15000/s, ETA 1s``."""
    total, done = int(doc.get("total", 0)), int(doc.get("done", 0))
    pct = 100.0 * done / total if total else 100.0
    text = f"Reencryption Progress: {done}/{total} secrets ({pct:.1f}%)"
    text += f", {float(doc.get('rate', 0.0)):.0f}/s"
    if doc.get("running"):
        if "eta" in doc:
            text += f", ETA {_duration(float(doc['eta']))}"
    elif doc.get("finished"):
        text += ", finished"
    else:
        text += ", stopped"
    if doc.get("skipped"):
        text += f", {doc['skipped']} skipped (written concurrently)"
    if doc.get("failed"):
        text += f", {doc['failed']} unreadable"
    if doc.get("error"):
        text += f": {doc['error']}"
    return text


def tabwrite(rows: Sequence[Sequence[str]], *, padding: int = 2) -> str:
    """Go ``tabwriter.NewWriter(w, 0, 0, padding, ' ', 0)`` for tab-terminated cells.

    Each row is its cells; all but the last cell are tab-terminated and padded
    to the column's widest cell + ``padding``; the last cell is written as is.
    An empty row is a blank line and ends the column block, as in Go.
    """
    out: list[str] = []
    block: list[Sequence[str]] = []

    def flush() -> None:
        ncols = max((len(r) - 1 for r in block), default=0)
        widths = [
            max((len(r[c]) for r in block if len(r) - 1 > c), default=0) + padding
            for c in range(ncols)
        ]
        for r in block:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])]
            out.append("".join(cells) + r[-1])
        block.clear()

    for row in rows:
        if len(row) <= 1:
            flush()
            out.append(row[0] if row else "")
        else:
            block.append(row)
    flush()
    return "".join(line + "\n" for line in out)


def render_text(doc: Mapping[str, Any]) -> str:
    """k3s's text output for a status document (what ``fmt.Println`` prints)."""
    if doc.get("enable") is None:
        return NO_CONFIG + "\n"
    out = "Encryption Status: Enabled\n" if doc["enable"] else "Encryption Status: Disabled\n"
    out += f"Current Rotation Stage: {doc.get('stage', '')}\n"
    if doc.get("hashmatch"):
        out += "Server Encryption Hashes: All hashes match\n"
    else:
        out += f"Server Encryption Hashes: {doc.get('hasherror', '')}\n"
    step = doc.get("controller")
    if step:
        out += f"Next Step: {step.get('message', '')} ({step.get('reason', '')})\n"
    rotation = doc.get("rotation")
    if rotation:
        out += (
            f"Key Rotation: every {_duration(float(rotation['interval']))}, active key "
            f"{_duration(float(rotation['activeKeyAge']))} old, next at "
            f"{rotation['nextRotation']}\n"
        )
    progress = doc.get("reencrypt")
    if progress and (progress.get("running") or progress.get("error")):
        out += progress_line(progress) + "\n"
    active = str(doc.get("activekey") or "")
    inactive = [str(k) for k in doc.get("inactivekeys") or []]
    kms = {str(p.get("name")): p for p in doc.get("kms") or []}
    table = ""
    if active or inactive:
        rows: list[list[str]] = [
            [""],
            ["Active", "Key Type", "Name"],
            ["------", "--------", "----"],
        ]
        if kms:  # kcrypt: KMS providers show the hash of the plugin's current key ID
            rows[1].append("Key ID Hash")
            rows[2].append("-----------")
        for mark, key in [(" *", active)] * bool(active) + [("", k) for k in inactive]:
            kind, _, name = key.partition(" ")
            row = [mark, kind, name]
            if kms:
                row.append(_kms_hash(kms, kind, name))
            rows.append(row)
        table = tabwrite(rows)
    servers = doc.get("servers")
    if servers:
        table += "\n" + server_table(servers)
    return out + table + "\n"


def _kms_hash(kms: Mapping[str, Mapping[str, Any]], kind: str, name: str) -> str:
    if not kind.startswith("KMS") or name not in kms:
        return ""
    return str(kms[name].get("keyIDHash") or "(plugin not reached yet)")


def render_json(doc: Mapping[str, Any]) -> str:
    """``json.MarshalIndent(status, "", "\\t")``: k3s's fields, then kcrypt's extras."""
    return json.dumps(dict(doc), indent="\t", ensure_ascii=False)


hash_error = _hash_error
"""k3s's cross-server check over ``{node: "<stage>-<hash>"}`` (single server, tests)."""
