"""Go's text forms that kube-apiserver's messages are made of.

Upstream messages quote with ``%q`` (``strconv.Quote``), render values with
``encoding/json`` and print durations with ``time.Duration.String``; matching
messages byte for byte needs the same three renderings, and the same duration
parser (``time.ParseDuration``) that ``metav1.Duration`` uses.
"""

from __future__ import annotations

import json
import re

__all__ = ["format_duration", "go_json", "go_quote", "parse_duration"]

_ESCAPES = {
    "\a": r"\a",
    "\b": r"\b",
    "\f": r"\f",
    "\n": r"\n",
    "\r": r"\r",
    "\t": r"\t",
    "\v": r"\v",
}


def go_quote(text: str) -> str:
    """``strconv.Quote``: printable characters stay, the rest are escaped."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_json(value: object) -> str:
    """``encoding/json.Marshal``: compact, with Go's HTML-safe escapes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9}
_NS |= {"m": 60 * 10**9, "h": 3600 * 10**9}
_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_duration(text: str) -> float:
    """``time.ParseDuration`` in seconds; ValueError carries Go's message."""
    err = ValueError(f"time: invalid duration {go_quote(text)}")
    rest = text
    negative = rest[:1] == "-"
    if rest[:1] in ("-", "+"):
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise err
    total_ns = 0
    while rest:
        match = _PART.match(rest)
        if match is None or not (match.group(1) or match.group(2)) or match.end() == 0:
            raise err
        whole, frac, unit = match.group(1), match.group(2) or "", match.group(3)
        if not unit:
            raise ValueError(f"time: missing unit in duration {go_quote(text)}")
        if unit not in _NS:
            raise ValueError(f"time: unknown unit {go_quote(unit)} in duration {go_quote(text)}")
        scale = _NS[unit]
        total_ns += int(whole or "0") * scale
        if frac:
            total_ns += int(int(frac) * scale / 10 ** len(frac))
        if total_ns > 2**63 - 1:
            raise err
        rest = rest[match.end() :]
    return -total_ns / 1e9 if negative else total_ns / 1e9


def _fmt_frac(value: int, digits: int) -> str:
    """Go's fmtFrac: ``value`` has ``digits`` decimals; trailing zeros dropped."""
    whole, frac = divmod(value, 10**digits)
    frac_text = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{frac_text}" if frac_text else str(whole)


def format_duration(seconds: float) -> str:
    """``time.Duration.String`` for a duration given in seconds."""
    ns = round(seconds * 1e9)
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns == 0:
        return "0s"
    if ns < 10**9:
        if ns < 10**3:
            return f"{sign}{ns}ns"
        if ns < 10**6:
            return f"{sign}{_fmt_frac(ns, 3)}µs"
        return f"{sign}{_fmt_frac(ns, 6)}ms"
    secs_ns = ns % (60 * 10**9)
    minutes_total = ns // (60 * 10**9)
    text = f"{_fmt_frac(secs_ns, 9)}s"
    if minutes_total:
        hours, minutes = divmod(minutes_total, 60)
        text = f"{minutes}m{text}"
        if hours:
            text = f"{hours}h{text}"
    return sign + text
