"""Processes launched by ``torchrun``: which share of the work is this rank's, and how shares combine.

One process (no ``torchrun``) is the default and everything here is then a no-op: ``shard(n)`` is
``range(n)``, ``all_reduce_sum`` returns its input. Under ``torchrun`` (``WORLD_SIZE > 1`` in the environment)
:func:`init_from_env` joins the process group (gloo on CPU, NCCL on CUDA), rank ``r`` of ``w`` takes items
``r, r + w, r + 2w, ...``, and sums of counts and statistics are combined with ``all_reduce``: the totals
are the same numbers one process computes (counts exactly; float sums up to summation order).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = [
    "all_gather_object",
    "all_reduce_sum",
    "any_rank",
    "barrier",
    "finish",
    "init_from_env",
    "is_main",
    "launched",
    "rank",
    "shard",
    "world_size",
]


def launched() -> bool:
    """True when this process is one of several started by ``torchrun`` (``WORLD_SIZE > 1``)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def init_from_env(device: torch.device | str = "cpu") -> bool:
    """Join the process group ``torchrun`` describes in the environment; returns whether one is active.

    The backend is NCCL when ``device`` is a CUDA device, else gloo. Calling it twice is harmless.
    """
    if dist.is_available() and dist.is_initialized():
        return True
    if not launched() or not dist.is_available():
        return False
    backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return True


def _active() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if _active() else 0


def world_size() -> int:
    """The number of processes (1 without a process group)."""
    return dist.get_world_size() if _active() else 1


def is_main() -> bool:
    """True on rank 0: the one process that writes shared files and prints."""
    return rank() == 0


def shard(n: int) -> range:
    """The indices of ``n`` items that are this rank's: ``range(rank, n, world_size)``."""
    if n < 0:
        raise ValueError(f"shard: n must be >= 0, got {n}")
    return range(rank(), n, world_size())


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """The elementwise sum of ``t`` over all ranks (``t`` itself with one process).

    gloo cannot reduce on CUDA and NCCL only on CUDA: the tensor travels on the backend's device and comes
    back on its own. Integer counts stay exact.
    """
    if not _active():
        return t
    backend = dist.get_backend()
    dev = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    buf = t.detach().to(dev).clone()
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return buf.to(t.device)


def barrier() -> None:
    """Wait for every rank (nothing to wait for with one process)."""
    if _active():
        dist.barrier()


def all_gather_object(obj: object) -> list[object]:
    """``[obj of rank 0, obj of rank 1, ...]`` (picklable objects: messages, lists of file records);
    ``[obj]`` with one process. Only for small objects produced by this program, never untrusted data."""
    if not _active():
        return [obj]
    out: list[object] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on at least one (e.g. "this rank failed")."""
    return bool(all_reduce_sum(torch.tensor([int(bool(flag))], dtype=torch.int64)).item() > 0)


def finish() -> None:
    """Leave the process group (if one is active) so the process exits without warnings."""
    if _active():
        dist.destroy_process_group()
