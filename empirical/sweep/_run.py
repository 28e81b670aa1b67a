r"""``run_sweep``: render every (unit, seed) pair of a layer in batches, on one process or on the ranks of torchrun.

Pair :math:`(u, s)` is rendered from its own seed ``image_seed(s, u)`` (its own generator draws its initial image
and all its transforms, :func:`empirical.visualize.render`), so its image does not depend on which pairs share its
batch except through float rounding. Rounding can flip a discrete choice (a max-pool or a ReLU near a tie) and
Adam's normalised steps carry such a flip into the image (measured: up to 0.016 in a pixel after 5 float32 steps
of a small CNN, a batch of 4 against single renders; 0 in float64). So the pairs (ordered by unit, then seed) are
cut into batches of ``batch`` once for the whole sweep, and rank :math:`r` of :math:`w` renders the batches
:math:`r, r + w, \dots` of those still needing work: a pair always shares its batch with the same pairs, so 1 and
:math:`w` processes, and a resumed run, write the same files (bit for bit on one kind of machine). After every round of
batches the ranks agree on whether one of them failed (an all-reduce), so a failure stops all of them at once with
the failing rank's message; files already in place are complete (atomic writes) and kept for a resume.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from empirical import _distributed as dist
from empirical._device import resolve_device
from empirical.sweep._spec import MAX_ITEMS, IndexSpec, parse_spec
from empirical.sweep._store import (
    MANIFEST,
    SETTINGS,
    append_journal,
    atomic_write_bytes,
    clear_journals,
    known_checksums,
    pair_file,
    remove_stale_temporaries,
    save_pair,
    sha256_file,
)

__all__ = ["MAX_BATCH", "MAX_PAIRS", "MAX_STEPS", "SweepConfig", "SweepFailed", "run_sweep", "validate"]

#: Documented limits, checked before any work.
MAX_STEPS = 100_000
MAX_BATCH = 4096
MAX_PAIRS = MAX_ITEMS

#: Settings that fix every image: a folder's reruns must agree on them (batch size, device and ranks may change).
_IDENTITY = ("model", "weights_sha256", "model_sha256", "layer", "steps", "size", "neuron", "crop", "amp", "lr")


class SweepFailed(RuntimeError):
    """A rank failed while rendering; the message names the rank and its error."""


@dataclass(frozen=True)
class SweepConfig:
    """One sweep: ``units`` x ``seeds`` of ``layer`` of zoo model ``model``, ``steps`` Adam steps, into ``out``."""

    model: str
    layer: str
    units: str
    seeds: str
    steps: int
    out: Path
    batch: int = 8
    weights: str | None = None
    device: str | None = "cpu"
    amp: bool = False
    size: int | None = None
    neuron: bool = False
    crop: bool = False
    lr: float = 0.05
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def validate(cfg: SweepConfig) -> tuple[IndexSpec, IndexSpec]:
    """Check every setting that can be checked without the model; the parsed unit and seed specs."""
    _check_int("--steps", cfg.steps, 1, MAX_STEPS)
    _check_int("--batch", cfg.batch, 1, MAX_BATCH)
    if cfg.size is not None:
        _check_int("--size", cfg.size, 8, 4096)
    if not isinstance(cfg.layer, str) or not cfg.layer:
        raise ValueError("--layer must name a layer, e.g. features.17 or logits")
    if not (isinstance(cfg.lr, float | int) and 0 < float(cfg.lr) < 100):
        raise ValueError(f"--lr must be a positive learning rate below 100, got {cfg.lr!r}")
    units = parse_spec(cfg.units, "--units")
    seeds = parse_spec(cfg.seeds, "--seeds", allow_random=False)
    n_units = units.random_count if units.is_random else len(units.indices or ())
    n_pairs = n_units * len(seeds.indices or ())
    if n_pairs > MAX_PAIRS:
        raise ValueError(f"--units x --seeds gives {n_pairs} pairs; at most {MAX_PAIRS} per sweep")
    if cfg.weights is not None and cfg.weights != "random" and not Path(cfg.weights).is_file():
        raise ValueError(f"--weights {cfg.weights!r}: no such file")
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} exists and is not a folder")
    resolve_device(cfg.device)
    return units, seeds


def _collective(fn: Callable[[], Any], kind: type[Exception] = ValueError) -> Any:
    """Run ``fn`` on every rank; if it raises on any rank, raise ``kind`` on all with the first rank's message."""
    error: str | None = None
    result = None
    try:
        result = fn()
    except (ValueError, FileNotFoundError, KeyError, OSError, RuntimeError) as err:
        error = " ".join(str(err.args[0] if isinstance(err, KeyError) and err.args else err).split())
        if dist.world_size() == 1:
            raise
    if dist.world_size() > 1:
        messages = dist.all_gather_object(error)
        failed = [(r, m) for r, m in enumerate(messages) if m is not None]
        if failed:
            r, m = failed[0]
            raise kind(m if len(failed) == dist.world_size() else f"rank {r}: {m}")
    return result


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM (``torchrun`` stopping the other ranks after one failed) runs ``finally`` blocks: no temp files."""
    try:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _model_fingerprint(model: nn.Module) -> str:
    """SHA-256 of the model's parameters and buffers (names, shapes, bytes): every rank must hold the same net."""
    digest = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        digest.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _load(cfg: SweepConfig, device: torch.device) -> nn.Module:
    from empirical.models import load_model

    with torch.random.fork_rng(devices=[]):  # "random" weights: the same on every rank and every run
        torch.manual_seed(0)
        return load_model(cfg.model, weights=cfg.weights, device=device)


def _unit_count(model: nn.Module, layer: str, shape: tuple[int, int, int], device: torch.device) -> int:
    from empirical.visualize import ActivationCapture, resolve_layer

    resolve_layer(model, layer)  # unknown layer: ValueError listing the layers
    with torch.no_grad(), ActivationCapture(model, [layer]) as capture:
        acts = capture.run(torch.full((1, *shape), 0.5, device=device))
    return int(acts[layer].shape[1])


def _render_batch(
    model: nn.Module, cfg: SweepConfig, pairs: Sequence[tuple[int, int]], shape: tuple[int, int, int],
    device: torch.device,
) -> tuple[Tensor, Any, Any]:  # fmt: skip
    """Images ``(k, C, H, W)`` and start/final objective values of the pairs ``(unit, seed)``, one batch."""
    from empirical.visualize import channel, image_seed, neuron, render, transforms_for_size

    c, h, w = shape
    units = [u for u, _ in pairs]
    objective = (neuron if cfg.neuron else channel)(cfg.layer, units)
    seeds = [image_seed(s, u) for u, s in pairs]
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cfg.amp):
        res = render(
            model, objective, seeds, size=(h, w), channels=c, steps=cfg.steps, lr=float(cfg.lr),
            transforms=transforms_for_size(min(h, w)), crop=cfg.crop, device=device, progress=False,
        )  # fmt: skip
    return res.images.float(), res.objective_start, res.objective_final


def _provenance(config: dict[str, Any], seeds: list[int], weights: Path | None, started: tuple[float, float]) -> dict:
    from empirical._provenance import provenance

    return provenance(config, seeds, None, None, {"weights": weights} if weights else None, started)


def _settings_check(folder: Path, identity: dict[str, Any]) -> None:
    """Rank 0: the folder's recorded settings must be these (else ValueError); record them on the first run."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SETTINGS
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(recorded, dict):
                raise ValueError(f"a JSON {type(recorded).__name__}, not an object")
        except (ValueError, RecursionError) as err:
            raise ValueError(f"{path}: unreadable sweep settings ({str(err)[:120]}); use a fresh --out") from None
        diff = [k for k in _IDENTITY if recorded.get(k) != identity.get(k)]
        if diff:
            k = diff[0]
            raise ValueError(
                f"--out {str(folder)!r} holds a sweep with other settings ({k} {recorded.get(k)!r}, "
                f"now {identity.get(k)!r}); use another --out"
            )
    else:
        atomic_write_bytes(path, (json.dumps(identity, indent=2) + "\n").encode())
    remove_stale_temporaries(folder)


def run_sweep(cfg: SweepConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Render the sweep (resuming a folder's earlier runs); the manifest written by rank 0 (returned on every rank).

    Raises ``ValueError`` for bad settings (before any rendering) and :class:`SweepFailed` when a rank fails.
    """
    started = (time.perf_counter(), time.process_time())
    unit_spec, seed_spec = validate(cfg)
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_from_env(device)
    say = log if (log is not None and dist.is_main()) else (lambda _msg: None)
    folder = Path(cfg.out)
    try:
        with _terminate_as_exit():
            return _run(cfg, unit_spec, seed_spec, device, folder, started, say)
    finally:
        dist.finish()


def _run(
    cfg: SweepConfig, unit_spec: IndexSpec, seed_spec: IndexSpec, device: torch.device, folder: Path,
    started: tuple[float, float], say: Callable[[str], None],
) -> dict[str, Any]:  # fmt: skip
    model = _collective(lambda: _load(cfg, device))
    declared = tuple(int(v) for v in getattr(model, "input_size", (3, 224, 224)))
    shape = (declared[0], cfg.size or declared[1], cfg.size or declared[2])
    fingerprint = _model_fingerprint(model)
    prints = dist.all_gather_object(fingerprint)
    if len(set(prints)) > 1:
        raise ValueError(f"the ranks loaded different weights for {cfg.model} (model SHA-256 {sorted(set(prints))})")
    n_units = _collective(lambda: _unit_count(model, cfg.layer, shape, device))
    units = _collective(lambda: unit_spec.resolve(n_units, "--units"))
    seeds = seed_spec.resolve(None, "--seeds")
    pairs = [(u, s) for u in units for s in seeds]
    weights_path = Path(cfg.weights) if cfg.weights not in (None, "random") else None
    identity = {
        "model": cfg.model, "weights": cfg.weights,
        "weights_sha256": sha256_file(weights_path) if weights_path else None, "model_sha256": fingerprint,
        "layer": cfg.layer, "steps": cfg.steps, "size": list(shape), "neuron": cfg.neuron, "crop": cfg.crop,
        "amp": cfg.amp, "lr": float(cfg.lr),
    }  # fmt: skip
    _collective(lambda: _settings_check(folder, identity) if dist.is_main() else None)

    # Which pairs are complete: each rank checks its share of the files, the counts are summed.
    known = known_checksums(folder)
    files = [pair_file(cfg.layer, u, s) for u, s in pairs]
    done = torch.zeros(len(pairs), dtype=torch.int64)
    for i in dist.shard(len(pairs)):
        path = folder / files[i]
        done[i] = int(files[i] in known and path.is_file() and sha256_file(path) == known[files[i]])
    done = dist.all_reduce_sum(done)
    todo = [i for i in range(len(pairs)) if not done[i]]
    # Batches are cut from the whole pair list, so a pair always shares its batch with the same pairs (the same
    # images to the last bit on one machine, with any number of ranks and on a resume); a batch is rendered again
    # when any of its pairs is missing, and only the missing pairs are written.
    canonical = [range(k, min(k + cfg.batch, len(pairs))) for k in range(0, len(pairs), cfg.batch)]
    batches = [list(b) for b in canonical if any(not done[i] for i in b)]
    w, r = dist.world_size(), dist.rank()
    say(
        f"sweep: {len(pairs)} pairs ({len(units)} units x {len(seeds)} seeds), {len(pairs) - len(todo)} already done, "
        f"{len(batches)} batches of <= {cfg.batch} to render on {w} process(es), device {device}"
    )

    written: list[dict[str, Any]] = []
    seconds = 0.0
    rounds = -(-len(batches) // w)
    for k in range(rounds):
        j = k * w + r
        error: str | None = None
        if j < len(batches):
            try:
                t0 = time.perf_counter()
                chunk = [pairs[i] for i in batches[j]]
                images, start, final = _render_batch(model, cfg, chunk, shape, device)
                seconds += time.perf_counter() - t0
                entries = []
                for b, i in enumerate(batches[j]):
                    if done[i]:
                        continue
                    u, s = pairs[i]
                    record = {
                        "image": images[b].detach().cpu().contiguous().clone(), "model": cfg.model,
                        "layer": cfg.layer, "unit": u, "seed": s, "steps": cfg.steps,
                        "objective_start": float(start[b]), "objective_final": float(final[b]), "amp": cfg.amp,
                    }  # fmt: skip
                    entries.append({"index": i, "file": files[i], "sha256": save_pair(folder, files[i], record)})
                append_journal(folder, r, entries)
                written.extend(entries)
            except Exception as err:  # noqa: BLE001 - any failure of this rank stops every rank, with its message
                error = f"{type(err).__name__}: {' '.join(str(err).split())}"
                print(f"fvtrust sweep: rank {r}: {error}", file=sys.stderr, flush=True)
        if dist.any_rank(error is not None):
            messages = dist.all_gather_object(error)
            failed = [f"rank {q}: {m}" for q, m in enumerate(messages) if m is not None]
            raise SweepFailed(
                "sweep stopped, " + "; ".join(failed) + f"; files already written are complete and kept in "
                f"{folder}: rerun the same command to resume"
            )
        if k % 10 == 9 or k == rounds - 1:
            say(f"sweep: round {k + 1}/{rounds}")

    gathered = dist.all_gather_object(written)
    new = {e["index"]: e["sha256"] for part in gathered for e in part}  # type: ignore[union-attr]
    timing = dist.all_gather_object((seconds, time.process_time() - started[1]))
    config = {
        **identity, "units_spec": unit_spec.text, "seeds_spec": seed_spec.text,
        "units_random_seed": unit_spec.random_seed if unit_spec.is_random else None, "batch": cfg.batch,
        "device": str(device), "world_size": w, "transforms": "transforms_for_size (Lucent's standard set at 224 px)",
        "param": "fft", "objective": "centre neuron" if cfg.neuron else "channel mean", **cfg.extra,
    }  # fmt: skip
    manifest: dict[str, Any] = {}
    if dist.is_main():
        entries_out = []
        for i, (u, s) in enumerate(pairs):
            sha = new.get(i) or known.get(files[i])
            entries_out.append({"unit": f"{cfg.layer}:{u}", "seed": s, "file": files[i], "sha256": sha})
        prov = _provenance(config, seeds, weights_path, started)
        prov["cpu_seconds_all_ranks"] = round(sum(t[1] for t in timing), 3)  # type: ignore[index]
        manifest = {
            "units": entries_out,
            "rendered_this_run": [files[i] for i in sorted(new)],
            "render_seconds_per_rank": [round(t[0], 3) for t in timing],  # type: ignore[index]
            "config": config,
            "provenance": prov,
        }
        atomic_write_bytes(folder / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
        clear_journals(folder)
    dist.barrier()
    say(f"sweep: rendered {len(new)} pairs this run; manifest {folder / MANIFEST}")
    return manifest if dist.is_main() else {"rendered_this_run": len(new)}
