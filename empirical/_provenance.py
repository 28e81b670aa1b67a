"""Where a result came from: the record every result file carries.

``provenance(...)`` returns ``{commit, version, seeds, config, data: {source, n_files, file_list_sha256},
weights_sha256: {name: sha256}, torch, device, wall_s, cpu_s}``. The commit is ``git rev-parse HEAD`` of the
source tree (with ``+dirty`` when tracked files differ from it; ``None`` outside a git checkout); the file-list
hash is the sha256 of the files' paths relative to their common folder, one per line, so the same images give the
same hash on any machine; weights are hashed from their files (or bytes, e.g. a state dict serialised in memory).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["file_list_sha256", "git_commit", "provenance", "sha256_bytes", "sha256_file", "start_clock", "to_json"]

_ROOT = Path(__file__).resolve().parents[1]


def start_clock() -> tuple[float, float]:
    """``(wall, cpu)`` now; pass it as ``started`` to :func:`provenance`."""
    return time.perf_counter(), time.process_time()


def git_commit(root: Path = _ROOT) -> str | None:
    """HEAD of the checkout holding this package (``+dirty`` when tracked files changed), or None."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes | Mapping[str, torch.Tensor]) -> str:
    """sha256 of bytes, or of a state dict (names and raw tensor bytes in name order)."""
    if isinstance(data, bytes | bytearray):
        return hashlib.sha256(data).hexdigest()
    h = hashlib.sha256()
    for name in sorted(data):
        t = data[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def file_list_sha256(files: Sequence[Path]) -> str:
    """sha256 of the paths relative to their common folder, one per line, in the given order."""
    paths = [Path(f).resolve() for f in files]
    if not paths:
        return hashlib.sha256(b"").hexdigest()
    common = Path(os.path.commonpath([str(p) for p in paths]))
    if len(paths) == 1:
        common = paths[0].parent
    return hashlib.sha256("\n".join(p.relative_to(common).as_posix() for p in paths).encode()).hexdigest()


def to_json(value: Any) -> Any:
    """``value`` made JSON-safe (paths and devices as strings, tuples as lists, tensors as lists)."""
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return to_json(asdict(value))
    return str(value)


def provenance(
    config: Mapping[str, Any],
    seeds: int | Iterable[int] | None,
    data_source: str | None,
    files: Sequence[Path] | Any | None,
    weights: Mapping[str, Path | str | bytes | Mapping[str, torch.Tensor]] | None,
    started: tuple[float, float] | None,
    *,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """The provenance record of a result (see the module docstring). ``files``: paths, or an image folder (its
    :meth:`~empirical.data.ImageFolderData.file_list_sha256`). ``started``: :func:`start_clock` at the start
    of the work (``wall_s`` and ``cpu_s`` are then the time since; None without it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("fvtrust")
    except PackageNotFoundError:
        ver = None
    seed_list = [] if seeds is None else [int(seeds)] if isinstance(seeds, int) else [int(s) for s in seeds]
    hashes: dict[str, str] = {}
    for name, w in (weights or {}).items():
        hashes[name] = sha256_file(w) if isinstance(w, str | Path) else sha256_bytes(w)
    data = None
    if data_source is not None or files is not None:
        if files is not None and hasattr(files, "file_list_sha256"):  # an ImageFolderData: paths from its root
            n_files, digest = len(files.files), files.file_list_sha256()
        else:
            n_files = None if files is None else len(files)
            digest = None if files is None else file_list_sha256(files)
        data = {"source": data_source, "n_files": n_files, "file_list_sha256": digest}
    wall = cpu = None
    if started is not None:
        wall = round(time.perf_counter() - started[0], 3)
        cpu = round(time.process_time() - started[1], 3)
    return {
        "commit": git_commit(),
        "version": ver,
        "seeds": seed_list,
        "config": to_json(dict(config)),
        "data": data,
        "weights_sha256": hashes,
        "torch": torch.__version__,
        "device": str(device) if device is not None else "cpu",
        "threads": torch.get_num_threads(),
        "wall_s": wall,
        "cpu_s": cpu,
    }
