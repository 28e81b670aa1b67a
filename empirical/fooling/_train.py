"""Train the detector :math:`E` and measure it on held-out images; data and weights cached in ``cache_dir()``.

Loss: binary cross-entropy with the two kinds weighted equally (natural images far outnumber visualizations
on Fashion-MNIST). Held-out visualizations are whole render groups (all steps of a (layer, unit, seed)) never
trained on; held-out natural images are never trained on (see :func:`natural_split`).

E's visualizations are rendered here (:func:`visualization_set`) or read from the folders of ``fvtrust sweep``
runs (``train_detector(..., visualizations_from=[DIR, ...])``, :func:`sweep_visualizations`). Data sets and
weights are cache entries (:func:`empirical._cache.save_entry` / ``load_entry``: atomic writes, checksums).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from empirical._cache import cache_path, list_cache, load_entry, save_entry
from empirical.fooling._dataset import _chunks, natural_split, resize, visualization_set
from empirical.fooling._detector import Detector

__all__ = [
    "DETECTOR_RULES", "DetectorConfig", "DetectorReport", "check_detector_rule", "evaluate_detector",
    "natural_quantile", "sweep_visualizations", "threshold_detector", "train_detector",
]  # fmt: skip


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
    threshold_rule: str | None = None
    threshold_fpr: float | None = None


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


def _adopt_legacy(key: str) -> None:
    """An entry written before the cache kept checksums (the file at the entry's path, no manifest record) is
    recorded once if it loads, so an expensive data set is not rebuilt; one that does not load is rebuilt."""
    path = cache_path(key)
    if not path.is_file() or path.is_symlink() or key in {e["key"] for e in list_cache()}:
        return
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - unreadable: load_entry rebuilds it with a warning
        return
    save_entry(key, lambda tmp: shutil.copyfile(path, tmp))


def _cached_data(key: str, build: Callable[[], dict[str, Tensor]]) -> dict[str, Tensor]:
    """Cache entry ``key`` (checked against its checksum), built with ``build()`` when missing or damaged."""
    _adopt_legacy(key)
    return load_entry(key, lambda p: torch.load(p, weights_only=True), rebuild=lambda tmp: torch.save(build(), tmp))


def _as_folders(folders: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [folders] if isinstance(folders, str | Path) else list(folders)
    if not items:
        raise ValueError("visualizations_from: give at least one sweep folder")
    return [Path(f) for f in items]


def sweep_visualizations(
    folders: str | Path | Sequence[str | Path], size: int, model_name: str | None = None, *, warped: bool = True
) -> dict[str, Tensor]:
    """E's visualization data read from ``fvtrust sweep`` folders (:func:`empirical.sweep.read_sweep`, which checks
    every file's SHA-256 against the folder's manifest; a bad folder raises ``ValueError`` naming it).

    Each (unit, seed) pair of each folder is one render group: its final image and, with ``warped``, two frames
    of it under the sweep's transforms (padded and centre-cropped, drawn from the pair's image seed + 17, as in
    :func:`visualization_set`), all resized to ``size``. ``vis_steps`` is the sweep's step count. ``model_name``:
    every folder must hold visualizations of this model. Returns ``vis``, ``vis_groups``, ``vis_steps``,
    ``seconds`` and ``sweeps_sha256`` (a digest of the folders' file checksums, part of E's cache key).
    """
    from empirical.sweep import MANIFEST, read_sweep
    from empirical.visualize import AffineWarp, image_seed, transforms_for_size

    t0 = time.perf_counter()
    digest = hashlib.sha256()
    images, groups, steps = [], [], []
    group = 0
    for folder in _as_folders(folders):
        if not folder.is_dir():
            raise ValueError(f"visualizations_from: {str(folder)!r} is not a sweep folder")
        imgs, entries = read_sweep(folder)
        try:
            config = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["config"]
            n_steps, swept = config["steps"], str(config["model"])
            if type(n_steps) is not int or not 1 <= n_steps <= 100_000:
                raise ValueError(f"steps = {n_steps!r} is not a whole number in 1..100000")
        except (ValueError, KeyError, TypeError, RecursionError) as err:
            raise ValueError(f"{folder / MANIFEST}: no sweep configuration ({err})") from err
        if model_name is not None and swept != model_name:
            raise ValueError(f"visualizations_from: {str(folder)!r} holds visualizations of {swept}, not {model_name}")
        for e in entries:
            digest.update(f"{e['file']}\0{e['sha256']}\n".encode())
        n, h, w = len(imgs), imgs.shape[-2], imgs.shape[-1]
        ids = torch.arange(group, group + n)
        frames = [resize(imgs, size)]
        if warped:
            seeds = [image_seed(int(e["seed"]), int(str(e["unit"]).rsplit(":", 1)[1])) for e in entries]
            for crop in (False, True):
                warp = AffineWarp(transforms_for_size(min(h, w)), h, w, crop=crop)
                params = warp.sample([torch.Generator().manual_seed(s + 17) for s in seeds], 1)[0].to(imgs.dtype)
                frames.append(resize(warp.warp(imgs, params), size))
        for f in frames:
            images.append(f)
            groups.append(ids)
            steps.append(torch.full((n,), n_steps))
        group += n
        digest.update(b"\1")
    return {
        "vis": torch.cat(images), "vis_groups": torch.cat(groups), "vis_steps": torch.cat(steps),
        "seconds": torch.tensor(time.perf_counter() - t0),
        "sweeps_sha256": torch.frombuffer(bytearray(digest.digest()), dtype=torch.uint8),
    }  # fmt: skip


def _sweep_tag(data: dict[str, Tensor]) -> str:
    return "" if "sweeps_sha256" not in data else "_sweeps" + bytes(data["sweeps_sha256"].tolist()).hex()[:12]


def _data(
    model: nn.Module, model_name: str, cfg: DetectorConfig, progress: bool, photos: tuple[Tensor, Tensor] | None,
    sweeps: Sequence[Path] | None = None,
) -> dict[str, Tensor]:  # fmt: skip
    if sweeps is not None:  # visualizations read from sweep folders (checked, not cached), natural images as usual
        vis = sweep_visualizations(sweeps, cfg.size, model_name)
        if photos is not None:
            return {**vis, **_photo_natural(cfg, photos)}
        nat_train, nat_test = natural_split(model_name, cfg.size, cfg.n_natural_train, cfg.n_natural_test)
        return {**vis, "nat_train": nat_train, "nat_test": nat_test}
    if photos is not None:  # natural photos given (calibration / held out): visualizations cached on their own
        return _photo_data(model, model_name, cfg, progress, photos)

    def build() -> dict[str, Tensor]:
        t0 = time.perf_counter()
        vis = _render_visualizations(model, cfg, progress)
        nat_train, nat_test = natural_split(model_name, cfg.size, cfg.n_natural_train, cfg.n_natural_test)
        return {
            "vis": vis.images, "vis_groups": vis.groups, "vis_steps": vis.steps, "nat_train": nat_train,
            "nat_test": nat_test, "seconds": torch.tensor(time.perf_counter() - t0),
        }  # fmt: skip

    return _cached_data(f"fooling/{cfg.key(model_name)}_data.pt", build)


def _render_visualizations(model: nn.Module, cfg: DetectorConfig, progress: bool) -> Any:
    """E's visualization set: FVs of random units of ``cfg.layers`` with their render snapshots."""
    return visualization_set(
        model, cfg.size, layers=cfg.layers, units_per_layer=cfg.units_per_layer, seeds=cfg.seeds, steps=cfg.steps,
        snapshot_steps=cfg.snapshot_steps, crop=cfg.render_crop, transforms=_transforms(cfg), progress=progress,
    )  # fmt: skip


def _photo_natural(cfg: DetectorConfig, photos: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
    from empirical.data import random_crops

    calib, held = photos
    crops = [resize(random_crops(calib, n, seed=50_000 + i), cfg.size) for i, n in _chunks(cfg.n_natural_train, 0)]
    return {"nat_train": torch.cat([resize(calib, cfg.size), *crops]), "nat_test": resize(held, cfg.size)}


def _photo_data(
    model: nn.Module, model_name: str, cfg: DetectorConfig, progress: bool, photos: tuple[Tensor, Tensor]
) -> dict[str, Tensor]:
    """Visualizations (cached under :meth:`DetectorConfig.visualization_key`) and natural photos: training = the
    calibration photos and ``n_natural_train`` random crops of them (flips, scales 0.35-1), held out = the
    held-out photos, all at E's resolution."""

    def build() -> dict[str, Tensor]:
        t0 = time.perf_counter()
        v = _render_visualizations(model, cfg, progress)
        seconds = torch.tensor(time.perf_counter() - t0)
        return {"vis": v.images, "vis_groups": v.groups, "vis_steps": v.steps, "seconds": seconds}

    vis = _cached_data(f"fooling/{cfg.visualization_key(model_name)}.pt", build)
    return {**vis, **_photo_natural(cfg, photos)}


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
    visualizations_from: str | Path | Sequence[str | Path] | None = None,
    threshold_rule: str = "max_margin",
    threshold_fpr: float | None = None,
) -> tuple[Detector, DetectorReport]:
    """Generate (or load) the data set, train :math:`E` (or load cached weights) and measure it held out.

    ``photos``: (calibration, held-out) natural photos (N, C, H, W) in [0, 1] instead of the bundled photos' crops;
    ``cfg.natural`` must then name them (it is part of the cache key of E's weights). ``threshold_margin``: E's
    threshold is raised above its natural training images (:func:`threshold_detector`; training data only) and the
    held-out accuracies are those at the threshold (the ones at 0 are kept in the report). ``threshold_rule``
    ``"quantile"`` with ``threshold_fpr`` q: the threshold is instead the (1 - q) quantile of E's logits on its
    natural training images (at most a share q of them above it); weights and cache are the same for both rules.

    ``visualizations_from``: one or more ``fvtrust sweep`` folders of this model whose images (and warped frames
    of them) are E's visualizations instead of rendering ``cfg``'s (:func:`sweep_visualizations`; every file's
    checksum is verified; a whole (unit, seed) pair is held out or trained on). ``cfg``'s render settings are then
    unused; E's weights are cached under a key that includes the folders' file checksums."""
    cfg = cfg or DetectorConfig()
    check_detector_rule(threshold_rule, threshold_fpr)
    if (photos is None) != (cfg.natural == "bundled"):
        raise ValueError("train_detector: pass photos exactly when cfg.natural names them (not 'bundled')")
    sweeps = None if visualizations_from is None else _as_folders(visualizations_from)
    data = _data(model, model_name, cfg, progress, photos, sweeps)
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
    key = f"fooling/{cfg.key(model_name)}{_sweep_tag(data)}_detector.pt"
    state = _cached_weights(key, device) if use_cache else None
    cached = state is not None
    seconds = 0.0
    if state is not None:
        det.load_state_dict(state)
    else:
        seconds = _fit(det, nat_train, vis_train, cfg, device, progress)
        trained = {k: v.detach().cpu().clone() for k, v in det.state_dict().items()}
        save_entry(key, lambda tmp: torch.save(trained, tmp))
    det.eval()
    for p in det.parameters():
        p.requires_grad_(False)
    at_zero: tuple[float | None, float | None] = (None, None)
    tau = None
    rule = None
    if threshold_margin is not None or threshold_rule == "quantile":
        rule = threshold_rule
        at_zero = evaluate_detector(det, nat_test, vis_test)
        margin = 0.25 if threshold_margin is None else threshold_margin
        det, tau = threshold_detector(det, nat_train, margin, rule=rule, fpr=threshold_fpr)
    nat_acc, vis_acc = evaluate_detector(det, nat_test, vis_test)
    steps = data["vis_steps"][is_test]
    by_step = {str(int(s)): evaluate_detector(det, nat_test[:0], vis_test[steps == s])[1] for s in torch.unique(steps)}
    report = DetectorReport(
        nat_acc, vis_acc, len(nat_test), len(vis_test), len(nat_train), len(vis_train), by_step, seconds,
        float(data["seconds"]), cached, tau, *at_zero, rule, threshold_fpr if rule == "quantile" else None,
    )  # fmt: skip
    return det, report


def _cached_weights(key: str, device: str | torch.device) -> dict[str, Tensor] | None:
    """E's cached state dict (checksum verified), or None when there is none or it is damaged (with a warning)."""
    _adopt_legacy(key)
    try:
        return load_entry(key, lambda p: torch.load(p, map_location=device, weights_only=True))
    except ValueError as err:
        if cache_path(key).exists():
            warnings.warn(f"{err}; training E again", stacklevel=3)
        return None


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


#: E's threshold rules (``threshold_detector``): above the natural maximum with a margin, or a natural quantile.
DETECTOR_RULES = ("max_margin", "quantile")


def check_detector_rule(rule: str, fpr: float | None) -> None:
    """``rule`` is one of :data:`DETECTOR_RULES`; the quantile rule needs a share ``fpr`` in the open interval
    (0, 0.5) (0 would be the natural maximum, the margin rule's case; 0.5 and above would call at least half the
    natural images visualizations). A ``ValueError`` naming the bad value otherwise."""
    if rule not in DETECTOR_RULES:
        raise ValueError(f"detector rule {rule!r} is not one of: {', '.join(DETECTOR_RULES)}")
    if rule == "quantile" and (fpr is None or not 0.0 < fpr < 0.5):
        raise ValueError(f"the quantile rule needs a natural share detector_fpr in (0, 0.5), got {fpr}")


def natural_quantile(logits: Tensor, fpr: float) -> float:
    r"""A :math:`(1 - q)` quantile of the natural ``logits``, :math:`q` = ``fpr``, with at most
    :math:`k = \lfloor q n \rfloor` of the :math:`n` logits strictly above it: midway between the
    :math:`(k + 1)`-th and the :math:`k`-th largest logit (so that float rounding of the threshold folded into
    E's bias cannot move it across a natural logit), or the largest logit when :math:`k = 0`."""
    check_detector_rule("quantile", fpr)
    e = logits.detach().flatten().double().sort(descending=True).values
    if len(e) == 0:
        raise ValueError("natural_quantile: no natural logits")
    k = int(fpr * len(e))  # naturals allowed above tau
    return float(e[k] if k == 0 else (e[k] + e[k - 1]) / 2)


@torch.no_grad()
def threshold_detector(
    det: Detector, natural: Tensor, margin: float = 0.25, batch: int = 256, *, rule: str = "max_margin",
    fpr: float | None = None,
) -> tuple[Detector, float]:  # fmt: skip
    r"""A copy of :math:`E` that calls an image a visualization only above :math:`\tau`, set from natural
    calibration images alone, by ``rule``:

    - ``"max_margin"``: :math:`\tau = \max(M, 0) + \mu \max(|M|, M - \bar M)` with :math:`M` the largest and
      :math:`\bar M` the mean logit over ``natural`` and margin :math:`\mu` (the image trigger's rule): every
      natural image is called natural, with a margin;
    - ``"quantile"``: :math:`\tau` = the :math:`(1 - q)` quantile of the logits over ``natural``, :math:`q` =
      ``fpr`` in (0, 0.5) (:func:`natural_quantile`): at most a share :math:`q` of them is called a visualization.
      ``margin`` is unused.

    The threshold is folded into the output bias, so :math:`E'(x) = 1` iff :math:`e(x) > \tau`. Returns
    :math:`(E', \tau)`."""
    import copy

    check_detector_rule(rule, fpr)
    if rule == "max_margin" and not margin >= 0:
        raise ValueError(f"detector margin must be >= 0, got {margin}")
    if len(natural) == 0:
        raise ValueError("threshold_detector: no natural images")
    det = copy.deepcopy(det).eval()
    dev = next(det.parameters()).device
    e = torch.cat([det(natural[i : i + batch].to(dev)).cpu() for i in range(0, len(natural), batch)])
    if rule == "quantile":
        assert fpr is not None
        tau = natural_quantile(e, fpr)
    else:
        m, mean = float(e.max()), float(e.mean())
        tau = max(m, 0.0) + margin * max(abs(m), m - mean)
    det.head.bias -= tau
    return det, tau
