"""Which torch device a process computes on, validated before any work.

``resolve_device(spec)`` accepts ``"cpu"``, ``"cuda"`` and ``"cuda:N"`` (and ``None``: CUDA when present, else
the CPU). Under ``torchrun`` (``LOCAL_RANK`` in the environment) ``"cuda"`` and ``None`` mean this rank's own GPU,
``cuda:LOCAL_RANK``, so the ranks of one machine never share a GPU; an explicit ``cuda:N`` with several local
ranks is refused (they would all use GPU ``N``). Anything else raises ``ValueError`` naming the value and the
devices present.
"""

from __future__ import annotations

import os
import re

import torch

__all__ = ["local_rank", "resolve_device"]

_SPEC = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


def local_rank() -> int | None:
    """This process's ``LOCAL_RANK`` under ``torchrun`` (``None`` when it is not set or not an integer)."""
    value = os.environ.get("LOCAL_RANK")
    return int(value) if value is not None and value.isdigit() else None


def _local_world_size() -> int:
    value = os.environ.get("LOCAL_WORLD_SIZE", "1")
    return int(value) if value.isdigit() else 1


def _present() -> str:
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return "cpu" + "".join(f", cuda:{i}" for i in range(n))


def resolve_device(spec: str | None) -> torch.device:
    """The device ``spec`` names, checked against the hardware present (see the module docstring)."""
    if spec is None:
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(spec, str):
        raise ValueError(f"device must be a string such as cpu, cuda or cuda:0, got {spec!r}")
    match = _SPEC.match(spec.strip().lower())
    if match is None:
        raise ValueError(f"device {spec!r} is not one of cpu, cuda, cuda:N; present: {_present()}")
    kind, index = match[1], match[2]
    if kind == "cpu":
        if index is not None:
            raise ValueError(f"device {spec!r}: use plain 'cpu'; present: {_present()}")
        return torch.device("cpu")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise ValueError(f"device {spec!r}: no CUDA device present (torch {torch.__version__}); present: cpu")
    lr = local_rank()
    if index is None:
        gpu = lr if lr is not None else torch.cuda.current_device()
        if gpu >= count:
            raise ValueError(f"device {spec!r}: LOCAL_RANK {gpu} has no GPU of its own; present: {_present()}")
    else:
        gpu = int(index)
        if gpu >= count:
            raise ValueError(f"device {spec!r}: no such GPU; present: {_present()}")
        if lr is not None and _local_world_size() > 1:
            raise ValueError(
                f"device {spec!r}: {_local_world_size()} ranks on this machine would share one GPU; "
                "use --device cuda (each rank takes its LOCAL_RANK GPU)"
            )
    return torch.device("cuda", gpu)
