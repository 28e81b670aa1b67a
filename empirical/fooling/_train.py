"""Train the detector :math:`E` and measure it on held-out images; data and weights cached in ``cache_dir()``.

Loss: binary cross-entropy with the two kinds weighted equally (natural images far outnumber visualizations
on Fashion-MNIST). Held-out visualizations are whole render groups (all steps of a (layer, unit, seed)) never
trained on; held-out natural images are never trained on (see :func:`natural_split`).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from empirical._cache import cache_dir
from empirical.fooling._dataset import _chunks, natural_split, resize, visualization_set
from empirical.fooling._detector import Detector

__all__ = ["DetectorConfig", "DetectorReport", "evaluate_detector", "train_detector"]


@dataclass(frozen=True)
class DetectorConfig:
    """Sizes of the detector's data set and training (all parameters; the cache key is derived from them)."""

    size: int = 28
    width: int = 8
    units_per_layer: int = 16
    layers: tuple[str, ...] | None = None
    seeds: tuple[int, ...] = (100, 101)
    steps: int = 512
    snapshot_steps: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    render_crop: bool = False
    small_transforms: bool = False
    n_natural_train: int = 60000
    n_natural_test: int = 10000
    heldout_fraction: float = 0.2
    epochs: int = 4
    batch: int = 256
    lr: float = 2e-3
    seed: int = 0
    natural: str = "bundled"

    def key(self, model_name: str) -> str:
        fields = asdict(self)
        if fields["natural"] == "bundled":  # keys of the configurations before photo folders: unchanged
            del fields["natural"]
        text = json.dumps({"model": model_name, **fields}, sort_keys=True)
        return f"{model_name}_{hashlib.sha1(text.encode()).hexdigest()[:10]}"

    def visualization_key(self, model_name: str) -> str:
        """The cache key of the rendered visualizations (independent of the natural images)."""
        keep = ("size", "units_per_layer", "layers", "seeds", "steps", "snapshot_steps", "render_crop")
        text = json.dumps({"model": model_name, **{k: asdict(self)[k] for k in keep}}, sort_keys=True)
        text += "small" if self.small_transforms else ""
        return f"{model_name}_vis_{hashlib.sha1(text.encode()).hexdigest()[:10]}"


@dataclass
class DetectorReport:
    """Held-out accuracies of :math:`E` (fractions) and what it was trained on."""

    natural_accuracy: float
    visualization_accuracy: float
    n_natural_test: int
    n_visualization_test: int
    n_natural_train: int
    n_visualization_train: int
    by_step: dict[str, float] = field(default_factory=dict)
    train_seconds: float = 0.0
    data_seconds: float = 0.0
    cached: bool = False
    threshold: float | None = None
    natural_accuracy_at_zero: float | None = None
    visualization_accuracy_at_zero: float | None = None


@torch.no_grad()
def _predict(det: Detector, images: Tensor, batch: int = 1024) -> Tensor:
    det.eval()
    dev = next(det.parameters()).device
    return torch.cat([det(images[i : i + batch].to(dev)).cpu() > 0 for i in range(0, len(images), batch)])


def evaluate_detector(det: Detector, natural: Tensor, visual: Tensor) -> tuple[float, float]:
    """(fraction of natural images called natural, fraction of visualizations called visualizations)."""
    nat = 1.0 - _predict(det, natural).float().mean().item() if len(natural) else float("nan")
    vis = _predict(det, visual).float().mean().item() if len(visual) else float("nan")
    return nat, vis


def _transforms(cfg: DetectorConfig) -> tuple | None:
    if not cfg.small_transforms:
        return None
    from empirical.fooling._presets import _small_transforms

    return _small_transforms()


def _data(
    model: nn.Module, model_name: str, cfg: DetectorConfig, progress: bool, photos: tuple[Tensor, Tensor] | None
) -> dict[str, Tensor]:
    if photos is not None:  # natural photos given (calibration / held out): visualizations cached on their own
        return _photo_data(model, model_name, cfg, progress, photos)
    path = cache_dir() / "fooling" / f"{cfg.key(model_name)}_data.pt"
    if path.exists():
        return torch.load(path, weights_only=True)
    t0 = time.perf_counter()
    vis = visualization_set(
        model, cfg.size, layers=cfg.layers, units_per_layer=cfg.units_per_layer, seeds=cfg.seeds, steps=cfg.steps,
        snapshot_steps=cfg.snapshot_steps, crop=cfg.render_crop, transforms=_transforms(cfg), progress=progress,
    )  # fmt: skip
    nat_train, nat_test = natural_split(model_name, cfg.size, cfg.n_natural_train, cfg.n_natural_test)
    data = {
        "vis": vis.images, "vis_groups": vis.groups, "vis_steps": vis.steps, "nat_train": nat_train,
        "nat_test": nat_test, "seconds": torch.tensor(time.perf_counter() - t0),
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)
    return data


def _photo_data(
    model: nn.Module, model_name: str, cfg: DetectorConfig, progress: bool, photos: tuple[Tensor, Tensor]
) -> dict[str, Tensor]:
    """Visualizations (cached under :meth:`DetectorConfig.visualization_key`) and natural photos: training = the
    calibration photos and ``n_natural_train`` random crops of them (flips, scales 0.35-1), held out = the
    held-out photos, all at E's resolution."""
    from empirical.data import random_crops

    path = cache_dir() / "fooling" / f"{cfg.visualization_key(model_name)}.pt"
    t0 = time.perf_counter()
    if path.exists():
        vis = torch.load(path, weights_only=True)
    else:
        v = visualization_set(
            model, cfg.size, layers=cfg.layers, units_per_layer=cfg.units_per_layer, seeds=cfg.seeds,
            steps=cfg.steps, snapshot_steps=cfg.snapshot_steps, crop=cfg.render_crop, transforms=_transforms(cfg),
            progress=progress,
        )  # fmt: skip
        vis = {"vis": v.images, "vis_groups": v.groups, "vis_steps": v.steps, "seconds": torch.tensor(0.0)}
        vis["seconds"] = torch.tensor(time.perf_counter() - t0)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(vis, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    calib, held = photos
    crops = [resize(random_crops(calib, n, seed=50_000 + i), cfg.size) for i, n in _chunks(cfg.n_natural_train, 0)]
    nat_train = torch.cat([resize(calib, cfg.size), *crops])
    return {**vis, "nat_train": nat_train, "nat_test": resize(held, cfg.size)}


def train_detector(
    model: nn.Module,
    model_name: str,
    cfg: DetectorConfig | None = None,
    *,
    device: str | torch.device = "cpu",
    progress: bool = True,
    use_cache: bool = True,
    photos: tuple[Tensor, Tensor] | None = None,
    threshold_margin: float | None = None,
) -> tuple[Detector, DetectorReport]:
    """Generate (or load) the data set, train :math:`E` (or load cached weights) and measure it held out.

    ``photos``: (calibration, held-out) natural photos (N, C, H, W) in [0, 1] instead of the bundled photos' crops;
    ``cfg.natural`` must then name them (it is part of the cache key of E's weights). ``threshold_margin``: E's
    threshold is raised above its natural training images (:func:`threshold_detector`; training data only) and the
    held-out accuracies are those at the threshold (the ones at 0 are kept in the report)."""
    cfg = cfg or DetectorConfig()
    if (photos is None) != (cfg.natural == "bundled"):
        raise ValueError("train_detector: pass photos exactly when cfg.natural names them (not 'bundled')")
    data = _data(model, model_name, cfg, progress, photos)
    g = torch.Generator().manual_seed(cfg.seed)
    n_groups = int(data["vis_groups"].max()) + 1
    test_groups = torch.randperm(n_groups, generator=g)[: max(1, round(cfg.heldout_fraction * n_groups))]
    is_test = torch.isin(data["vis_groups"], test_groups)
    vis_train, vis_test = data["vis"][~is_test], data["vis"][is_test]
    nat_train, nat_test = data["nat_train"], data["nat_test"]
    c = int(nat_train.shape[1])
    with torch.random.fork_rng(devices=[]):  # E's initial weights from cfg.seed, not from whatever ran before
        torch.manual_seed(cfg.seed)
        det = Detector(c, cfg.size, cfg.width).to(device)
    weights = cache_dir() / "fooling" / f"{cfg.key(model_name)}_detector.pt"
    cached = use_cache and weights.exists()
    seconds = 0.0
    if cached:
        det.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
    else:
        seconds = _fit(det, nat_train, vis_train, cfg, device, progress)
        weights.parent.mkdir(parents=True, exist_ok=True)
        torch.save(det.state_dict(), weights)
    det.eval()
    for p in det.parameters():
        p.requires_grad_(False)
    at_zero: tuple[float | None, float | None] = (None, None)
    tau = None
    if threshold_margin is not None:
        at_zero = evaluate_detector(det, nat_test, vis_test)
        det, tau = threshold_detector(det, nat_train, threshold_margin)
    nat_acc, vis_acc = evaluate_detector(det, nat_test, vis_test)
    steps = data["vis_steps"][is_test]
    by_step = {str(int(s)): evaluate_detector(det, nat_test[:0], vis_test[steps == s])[1] for s in torch.unique(steps)}
    report = DetectorReport(
        nat_acc, vis_acc, len(nat_test), len(vis_test), len(nat_train), len(vis_train), by_step, seconds,
        float(data["seconds"]), cached, tau, *at_zero,
    )  # fmt: skip
    return det, report


def _fit(det: Detector, natural: Tensor, visual: Tensor, cfg: DetectorConfig, device: Any, progress: bool) -> float:
    """Adam on balanced mini-batches (half natural, half visualizations), ``epochs`` passes over the natural set."""
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(det.parameters(), lr=cfg.lr)
    half = cfg.batch // 2
    n_steps = cfg.epochs * max(1, max(len(natural), len(visual)) // half)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=n_steps)
    target = torch.cat([torch.zeros(half), torch.ones(half)]).to(device)
    t0 = time.perf_counter()
    det.train()
    bar = tqdm(range(n_steps), desc="training E", disable=not progress, leave=False)
    for _ in bar:
        i = torch.randint(len(natural), (half,))
        j = torch.randint(len(visual), (half,))
        x = torch.cat([natural[i], visual[j]]).to(device)
        if torch.rand(()) < 0.5:
            x = x.flip(-1)
        loss = F.binary_cross_entropy_with_logits(det(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    det.eval()
    return time.perf_counter() - t0


@torch.no_grad()
def threshold_detector(det: Detector, natural: Tensor, margin: float, batch: int = 256) -> tuple[Detector, float]:
    r"""A copy of :math:`E` that calls an image a visualization only above :math:`\tau`, set from natural
    calibration images alone: :math:`\tau = \max(M, 0) + \mu \max(|M|, M - \bar M)` with :math:`M` the largest
    and :math:`\bar M` the mean logit over ``natural`` and margin :math:`\mu` (the image trigger's rule). The
    threshold is folded into the output bias, so :math:`E'(x) = 1` iff :math:`e(x) > \tau`. Returns
    :math:`(E', \tau)`."""
    import copy

    if not margin >= 0:
        raise ValueError(f"detector margin must be >= 0, got {margin}")
    if len(natural) == 0:
        raise ValueError("threshold_detector: no natural images")
    det = copy.deepcopy(det).eval()
    dev = next(det.parameters()).device
    e = torch.cat([det(natural[i : i + batch].to(dev)).cpu() for i in range(0, len(natural), batch)])
    m, mean = float(e.max()), float(e.mean())
    tau = max(m, 0.0) + margin * max(abs(m), m - mean)
    det.head.bias -= tau
    return det, tau
