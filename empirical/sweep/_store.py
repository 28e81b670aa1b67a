"""A sweep folder on disk: one file per (unit, seed) pair, written atomically, and a manifest with checksums.

Layout of ``DIR``::

    DIR/sweep.json            the settings that fix every image (written by the first run; reruns must match)
    DIR/pairs/<layer>_<unit>_s<seed>.pt   {"image": (C, H, W) float32, "layer", "unit", "seed", ...}
    DIR/journal/rank<r>.jsonl one line {file, sha256} per file written, appended after the file is in place
    DIR/manifest.json         units [{unit: "logits:3", seed, file, sha256}], rendered_this_run, config, provenance

A pair file is saved to a unique temporary file in the same folder and moved into place with ``os.replace``
(atomic on POSIX), so a reader sees either the whole file or none. The journal records the checksum of every
file the moment it is in place, so a sweep killed before it wrote its manifest still knows which files are
complete: a rerun keeps a pair when its file exists and its SHA-256 is the one recorded (manifest or journal).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from empirical._cache import FILE_MODE

__all__ = [
    "MANIFEST",
    "SETTINGS",
    "append_journal",
    "atomic_write_bytes",
    "clear_journals",
    "known_checksums",
    "pair_file",
    "read_sweep",
    "remove_stale_temporaries",
    "save_pair",
    "sha256_file",
]

MANIFEST = "manifest.json"
SETTINGS = "sweep.json"
PAIRS = "pairs"
JOURNAL = "journal"
_TMP_SUFFIX = ".partial"


def pair_file(layer: str, unit: int, seed: int) -> str:
    """The pair's file, relative to the sweep folder: ``pairs/<layer>_<unit>_s<seed>.pt``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", layer)
    return f"{PAIRS}/{safe}_{unit}_s{seed}.pt"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _temporary(target: Path) -> Iterator[Path]:
    """A unique temporary path next to ``target``; removed unless it was moved into place."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=target.parent)
    os.close(fd)
    os.chmod(name, FILE_MODE)  # mkstemp makes 0600; sweep files are ordinary results
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (unique temporary file in the same folder, then ``os.replace``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _temporary(target) as tmp:
        tmp.write_bytes(data)
        _fsync(tmp)
        os.replace(tmp, target)


def save_pair(folder: Path, relative: str, record: dict[str, Any]) -> str:
    """Save ``record`` (tensors, ints, floats, strings: ``weights_only``-loadable) atomically; its SHA-256.

    The record is serialised in memory first (a file's archive name would otherwise be the temporary file's), so
    equal records give byte-identical files.
    """
    buffer = io.BytesIO()
    torch.save(record, buffer)
    data = buffer.getvalue()
    atomic_write_bytes(folder / relative, data)
    return hashlib.sha256(data).hexdigest()


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporary files left by a process that was killed while saving (only call with no run active)."""
    removed = []
    for sub in (folder, folder / PAIRS):
        if sub.is_dir():
            for tmp in sub.glob(f".*{_TMP_SUFFIX}"):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                    removed.append(tmp)
    return removed


def append_journal(folder: Path, rank: int, entries: list[dict[str, str]]) -> None:
    """Append ``{file, sha256}`` lines to this rank's journal and flush them to disk."""
    path = folder / JOURNAL / f"rank{rank}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps({"file": e["file"], "sha256": e["sha256"]}) + "\n")
        f.flush()
        os.fsync(f.fileno())


def clear_journals(folder: Path) -> None:
    """Remove the journals once the manifest holds their checksums."""
    journal = folder / JOURNAL
    if journal.is_dir():
        for path in journal.glob("rank*.jsonl"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(OSError):
            journal.rmdir()


def known_checksums(folder: Path) -> dict[str, str]:
    """``{file: sha256}`` from the manifest and then the journals (later lines win; torn lines are skipped)."""
    known: dict[str, str] = {}
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            for e in data.get("units", []):
                known[str(e["file"])] = str(e["sha256"])
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            pass  # an unreadable manifest records nothing: its pairs are checked against the journals or redone
    journal = folder / JOURNAL
    if journal.is_dir():
        for path in sorted(journal.glob("rank*.jsonl")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    e = json.loads(line)
                    known[str(e["file"])] = str(e["sha256"])
                except (ValueError, KeyError, TypeError, RecursionError):
                    continue
    return known


#: a unit as the manifest names it, "<layer>:<index>"
_UNIT = re.compile(r"[A-Za-z0-9_.]{1,100}:[0-9]{1,9}")
#: largest side of a sweep image read back (``fvtrust sweep --size`` allows up to 4096)
MAX_SIDE = 4096


def _distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are distinct (a repeated key would let two readers see different files)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} appears twice in one object")
        out[k] = v
    return out


def read_sweep(folder: str | Path) -> tuple[Tensor, list[dict[str, Any]]]:
    """All images of a finished sweep, ``(N, C, H, W)`` float32 in manifest order, and the manifest entries.

    Every file's SHA-256 is checked against the manifest before it is loaded (``weights_only=True``); a missing
    manifest, a missing file or a wrong checksum raises ``ValueError`` naming the file.
    """
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise ValueError(f"{manifest}: no sweep manifest (has the sweep finished?)")
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"), object_pairs_hook=_distinct_keys)
        entries = [dict(e) for e in data["units"]]
        for e in entries:
            e["file"], e["sha256"] = str(e["file"]), str(e["sha256"])
            if not _UNIT.fullmatch(str(e["unit"])) or type(e["seed"]) is not int or not 0 <= e["seed"] < 2**63:
                raise ValueError(f"entry {e['file']!r}: unit {e['unit']!r} (layer:index) or seed {e['seed']!r}")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
        raise ValueError(f"{manifest}: not a sweep manifest ({type(err).__name__}: {str(err)[:120]})") from None
    if not entries:
        raise ValueError(f"{manifest}: lists no images")
    images = []
    root = folder.resolve()
    for e in entries:
        path = (folder / e["file"]).resolve()
        if root not in path.parents:
            raise ValueError(f"{manifest}: file {e['file']!r} lies outside the sweep folder")
        if not path.is_file():
            raise ValueError(f"{path}: listed in {manifest} but missing")
        if sha256_file(path) != e["sha256"]:
            raise ValueError(f"{path}: SHA-256 differs from {manifest} (changed or damaged)")
        try:
            with warnings.catch_warnings():  # torch's own advice (weights_only=False) would run code: not shown
                warnings.simplefilter("ignore")
                record = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - torch raises many types for a file it cannot read safely
            why = type(err).__name__
            raise ValueError(f"{path}: not a sweep image file readable without running code ({why})") from None
        image = record.get("image") if isinstance(record, dict) else None
        if not isinstance(image, Tensor) or image.ndim != 3 or not image.is_floating_point():
            raise ValueError(f"{path}: holds no floating (C, H, W) 'image' tensor")
        c, h, w = image.shape
        if c not in (1, 3) or not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
            raise ValueError(
                f"{path}: image of shape {tuple(image.shape)}; allowed: 1 or 3 channels, sides 1..{MAX_SIDE}"
            )
        image = image.float().contiguous()
        if not bool(torch.isfinite(image).all()) or image.min() < 0 or image.max() > 1:
            raise ValueError(f"{path}: image values must be finite and in [0, 1]")
        images.append(image)
    shapes = {tuple(i.shape) for i in images}
    if len(shapes) > 1:
        raise ValueError(f"{manifest}: images of different shapes {sorted(shapes)}")
    return torch.stack(images), entries
