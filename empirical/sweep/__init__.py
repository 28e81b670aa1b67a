"""Sweeps: many (unit, seed) feature visualizations of one layer, sharded over ``torchrun`` ranks and resumable.

>>> from empirical.sweep import SweepConfig, run_sweep, read_sweep            # doctest: +SKIP
>>> run_sweep(SweepConfig("mobilenet_v2", "logits", "0-99", "0-4", steps=512, out=Path("sweep")))  # doctest: +SKIP
>>> images, entries = read_sweep("sweep")  # (500, 3, 224, 224), [{"unit": "logits:0", ...}]  # doctest: +SKIP
"""

from empirical.sweep._run import MAX_BATCH, MAX_PAIRS, MAX_STEPS, SweepConfig, SweepFailed, run_sweep, validate
from empirical.sweep._spec import MAX_INDEX, MAX_ITEMS, IndexSpec, parse_spec
from empirical.sweep._store import MANIFEST, SETTINGS, pair_file, read_sweep, sha256_file

__all__ = [
    "MANIFEST",
    "MAX_BATCH",
    "MAX_INDEX",
    "MAX_ITEMS",
    "MAX_PAIRS",
    "MAX_STEPS",
    "SETTINGS",
    "IndexSpec",
    "SweepConfig",
    "SweepFailed",
    "pair_file",
    "parse_spec",
    "read_sweep",
    "run_sweep",
    "sha256_file",
    "validate",
]
