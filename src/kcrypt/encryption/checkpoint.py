"""The re-encryption checkpoint: what a pass has done, persisted after each page.

JSON under ``/kcrypt/reencrypt/checkpoint`` (no values, no key material).
Besides the counts that ``status`` shows and the position a resumed pass
starts from (``prefix``, ``last_key``), it keeps what the key-removal proof
reuses (:mod:`kcrypt.encryption.safety`):

* ``start_revision`` -- the store revision before the pass read anything;
  a value last written at or before it was seen by the pass and is under the
  write key (or the pass would have counted it as unreadable);
* ``written`` -- the revision ranges of the pass's own rewrites, so the proof
  can tell them from writes made by anyone else since the pass began.

A pass that resumes keeps both; a checkpoint without them (an older record)
makes the proof fall back to a full scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace

from kcrypt.encryption.model import ReencryptProgress

__all__ = ["MAX_WRITTEN_RANGES", "Checkpoint", "merge_ranges", "written_by_pass"]

MAX_WRITTEN_RANGES = 4096
"""Beyond this many ranges the pass stops recording them (the proof scans everything)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    config_hash: str
    prefixes: tuple[str, ...]
    prefix: str
    last_key: str = ""
    total: int
    done: int = 0
    rewritten: int = 0
    current: int = 0
    skipped: int = 0
    failed: int = 0
    started: float
    elapsed: float = 0.0
    finished: bool = False
    start_revision: int = 0
    written: tuple[tuple[int, int], ...] = ()

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> Checkpoint | None:
        """The checkpoint, or None for a record this version cannot read."""
        try:
            doc = json.loads(data)
            known = {f.name for f in fields(cls)}
            args = {k: v for k, v in doc.items() if k in known}
            args.setdefault("prefixes", [args.get("prefix", "")])
            args["prefixes"] = tuple(args["prefixes"])
            args["written"] = tuple((int(lo), int(hi)) for lo, hi in args.get("written", ()))
            return cls(**args)
        except (ValueError, TypeError, AttributeError):
            return None

    def progress(self) -> ReencryptProgress:
        return ReencryptProgress(
            total=self.total,
            done=self.done,
            rewritten=self.rewritten,
            current=self.current,
            skipped=self.skipped,
            failed=self.failed,
            elapsed=self.elapsed,
            finished=self.finished,
            last_key=self.last_key,
        )

    def with_written(self, revisions: Iterable[int]) -> Checkpoint:
        """Add the revisions of a page's rewrites (ranges merged; capped)."""
        if self.start_revision == 0:
            return self
        merged = merge_ranges(self.written, revisions)
        if len(merged) > MAX_WRITTEN_RANGES:
            return replace(self, start_revision=0, written=())
        return replace(self, written=merged)


def merge_ranges(
    ranges: tuple[tuple[int, int], ...], revisions: Iterable[int]
) -> tuple[tuple[int, int], ...]:
    """``ranges`` plus ``revisions`` (> 0), as sorted, merged, inclusive ranges."""
    spans = sorted([*ranges, *((r, r) for r in revisions if r > 0)])
    out: list[tuple[int, int]] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def written_by_pass(ckpt: Checkpoint, revision: int) -> bool:
    """Whether ``revision`` is one of the pass's own rewrites (binary search)."""
    lo, hi = 0, len(ckpt.written)
    while lo < hi:
        mid = (lo + hi) // 2
        start, end = ckpt.written[mid]
        if revision < start:
            hi = mid
        elif revision > end:
            lo = mid + 1
        else:
            return True
    return False
