"""Index specifications for sweeps: ``0-99``, ``1,5,9``, ``0-3,8,10-11`` and ``random:64[@seed]``.

A spec is parsed and checked (syntax, limits) before any model is loaded; ``random:K@S`` draws ``K`` distinct
units of the layer with ``numpy.random.default_rng(S)`` once the layer's unit count is known (``S`` defaults
to 0 and is recorded, so a rerun of the same command picks the same units and can resume).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_INDEX", "MAX_ITEMS", "IndexSpec", "parse_spec"]

#: Largest index a spec may name (units, seeds) and most indices one spec may expand to.
MAX_INDEX = 2**31 - 1
MAX_ITEMS = 1_000_000

_RANDOM = re.compile(r"^random:(\d+)(?:@(\d+))?$")
_PART = re.compile(r"^(\d+)(?:-(\d+))?$")


@dataclass(frozen=True)
class IndexSpec:
    """A parsed spec: explicit ``indices`` (in the order given, duplicates removed) or ``random`` draws."""

    text: str
    indices: tuple[int, ...] | None = None
    random_count: int = 0
    random_seed: int = 0

    @property
    def is_random(self) -> bool:
        return self.indices is None

    def resolve(self, available: int | None = None, name: str = "--units") -> list[int]:
        """The indices; with ``available`` (e.g. a layer's unit count) every index must be below it."""
        if self.indices is None:
            if available is None:
                raise ValueError(f"{name} {self.text!r}: random draws need the number of units")
            if self.random_count > available:
                raise ValueError(f"{name} {self.text!r}: cannot draw {self.random_count} of {available} units")
            rng = np.random.default_rng(self.random_seed)
            return sorted(int(i) for i in rng.choice(available, size=self.random_count, replace=False))
        if available is not None:
            bad = [i for i in self.indices if i >= available]
            if bad:
                raise ValueError(f"{name} {self.text!r}: index {bad[0]} out of range, this layer has {available} units")
        return list(self.indices)


def parse_spec(text: str, name: str = "--units", allow_random: bool = True) -> IndexSpec:
    """Parse ``text``; a malformed spec or one beyond the limits raises ``ValueError`` naming ``name``."""
    if not isinstance(text, str):
        raise ValueError(f"{name} must be a string such as 0-99 or 1,5,9, got {text!r}")
    spec = "".join(text.split())
    allowed = "N, A-B, lists of these (1,5,10-19)" + (" or random:K[@SEED]" if allow_random else "")
    if not spec:
        raise ValueError(f"{name} is empty; allowed: {allowed}")
    match = _RANDOM.match(spec)
    if match is not None:
        if not allow_random:
            raise ValueError(f"{name} {text!r}: random draws are not allowed here; allowed: {allowed}")
        count, seed = int(match[1]), int(match[2] or 0)
        if not 1 <= count <= MAX_ITEMS:
            raise ValueError(f"{name} {text!r}: draw between 1 and {MAX_ITEMS} units")
        if seed > MAX_INDEX:
            raise ValueError(f"{name} {text!r}: seed must be at most {MAX_INDEX}")
        return IndexSpec(spec, None, count, seed)
    seen: dict[int, None] = {}
    total = 0
    for part in spec.split(","):
        m = _PART.match(part)
        if m is None:
            raise ValueError(f"{name} {text!r}: cannot read {part!r}; allowed: {allowed}")
        lo = int(m[1])
        hi = int(m[2]) if m[2] is not None else lo
        if hi < lo:
            raise ValueError(f"{name} {text!r}: range {part!r} runs backwards")
        if hi > MAX_INDEX:
            raise ValueError(f"{name} {text!r}: indices must be at most {MAX_INDEX}")
        total += hi - lo + 1
        if total > MAX_ITEMS:  # counted with repeats, before expanding anything
            raise ValueError(f"{name} {text!r}: more than {MAX_ITEMS} indices")
        seen.update(dict.fromkeys(range(lo, hi + 1)))
    return IndexSpec(spec, tuple(seen))
