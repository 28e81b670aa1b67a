r"""The render loop: maximise an objective over image parameters with Adam under random transforms.

At step :math:`t = 1..T` with image parameters :math:`\theta` (one image per batch entry):

.. math:: x = \mathrm{image}(\theta), \quad \tilde x = \mathrm{warp}_t(x), \quad
          L = -\sum_b o_b\big(\mathrm{acts}(\tilde x)\big), \quad \theta \leftarrow \mathrm{Adam}(\theta, \nabla L).

Adam is elementwise and the model runs in eval mode, so the images of a batch do not interact: rendering
``k`` objectives in one batch gives the same images as ``k`` single renders with the same per-image seeds, up to
float rounding (kernels may sum in another order for another batch size). Rounding differences can grow over a long
render: 256 float32 steps of MobileNetV2 differ by up to 0.84 in a pixel between a batch of 8 and a single image.
Each image ``b`` owns a ``torch.Generator`` seeded with ``seeds[b]`` that draws its initial parameters and then
all its transform parameters. ``objective_start`` and ``objective_final`` are measured on the untransformed
images at the model's input size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from empirical.visualize._defaults import PAPER_DEFAULTS
from empirical.visualize._fuse import fused_for_render
from empirical.visualize._layers import ActivationCapture, resolve_layer
from empirical.visualize._objectives import Objective
from empirical.visualize._param import FFTImage, ImageParam, PixelImage
from empirical.visualize._redirect import REDIRECT_RULES, RedirectedReLUs, model_redirect_defaults
from empirical.visualize._transforms import AffineWarp, Transform, standard_transforms

__all__ = ["RenderResult", "image_seed", "make_image", "render"]


@dataclass
class RenderResult:
    """Images (B, C, H, W) in ``[0, 1]`` on the CPU, objective values (B,), snapshots, per-step trace (T, B)."""

    images: Tensor
    objective_start: np.ndarray
    objective_final: np.ndarray
    snapshots: dict[int, Tensor] = field(default_factory=dict)
    trace: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    seeds: tuple[int, ...] = ()
    redirect_relu: tuple[int, str] = (0, "")


def image_seed(seed: int, unit: int) -> int:
    """A 63-bit seed for the image of ``unit`` under the run seed ``seed`` (independent of other units)."""
    for name, value in (("seed", seed), ("unit", unit)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(np.random.SeedSequence([seed, unit]).generate_state(1, np.uint64)[0]) >> 1


def _size(size: int | Sequence[int]) -> tuple[int, int]:
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if len(hw) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in hw):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return hw[0], hw[1]


def make_image(
    param: str,
    channels: int,
    size: int | Sequence[int],
    generators: list[torch.Generator],
    *,
    decorrelate: bool | None = None,
    sd: float = PAPER_DEFAULTS.sd,
    decay_power: float = PAPER_DEFAULTS.decay_power,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> ImageParam:
    """An :class:`FFTImage` (``param="fft"``) or :class:`PixelImage` (``"pixel"``), one image per generator.

    ``decorrelate=None`` decorrelates colours exactly when ``channels == 3``.
    """
    height, width = _size(size)
    if decorrelate is None:
        decorrelate = PAPER_DEFAULTS.decorrelate and channels == 3
    common = dict(generators=generators, sd=sd, decorrelate=decorrelate, device=device, dtype=dtype)
    if param == "fft":
        return FFTImage(len(generators), channels, height, width, decay_power=decay_power, **common)
    if param == "pixel":
        return PixelImage(len(generators), channels, height, width, **common)
    raise ValueError(f"unknown image parameterisation {param!r}; use 'fft' or 'pixel'")


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    floats = [t.dtype for t in tensors if t.is_floating_point()]
    return device, floats[0] if floats else torch.float32


@contextlib.contextmanager
def _prepared(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and frozen parameters (no weight gradients) for the duration; restored afterwards."""
    training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(training)


def _evaluate(capture: ActivationCapture, objective: Objective, images: Tensor) -> np.ndarray:
    with torch.no_grad():
        return objective(capture.run(images)).double().cpu().numpy()


def render(
    model: nn.Module,
    objective: Objective,
    seeds: Sequence[int],
    *,
    size: int | Sequence[int],
    channels: int = 3,
    steps: int = PAPER_DEFAULTS.steps,
    lr: float = PAPER_DEFAULTS.lr,
    param: str = PAPER_DEFAULTS.param,
    decorrelate: bool | None = None,
    transforms: Sequence[Transform] | None = None,
    crop: bool = PAPER_DEFAULTS.crop,
    thresholds: Sequence[int] = (),
    sd: float = PAPER_DEFAULTS.sd,
    decay_power: float = PAPER_DEFAULTS.decay_power,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    progress: bool = True,
    callback: Callable[[int, Tensor], None] | None = None,
    fuse: bool = True,
    redirect_relu: int | None = None,
    redirect_rule: str | None = None,
) -> RenderResult:
    """Render ``len(seeds)`` images in one batch maximising the per-image ``objective``.

    Args:
        model: an ``nn.Module`` taking images in ``[0, 1]``; run in eval mode with frozen weights, and moved in
            place to ``device``/``dtype`` when these are given and differ.
        objective: per-image objective (e.g. ``channel(layer, units)`` with one unit per image).
        seeds: one seed per image (initial parameters and transforms).
        size: image size ``H`` or ``(H, W)`` before transforms; ``channels``: image channels.
        steps, lr: Adam steps and learning rate. ``param``: ``"fft"`` or ``"pixel"``.
        transforms: default Lucent's standard set; ``()`` for none. ``crop``: see :class:`AffineWarp`.
        thresholds: steps after which a copy of the images is kept in ``snapshots``.
        device, dtype: default the model's. ``progress``: show a tqdm progress bar.
        callback: called after every step with the step number and the (detached) objective values (B,).
        fuse: optimise a fused copy of the model (batch norms folded into their convolutions, channels-last
            layout; :func:`fused_for_render`): the same function up to float rounding, about 2x faster on
            MobileNetV2. ``False`` runs ``model`` itself.
        redirect_relu: steps ``1..redirect_relu`` use redirected ReLU gradients (``empirical.visualize._redirect``;
            ``0``: never); ``redirect_rule``: ``"lucid"`` or ``"lucent"``. ``None``: what the model asks for
            (``redirect_relu_steps``/``redirect_relu_rule`` of the model or of a module inside it, e.g. 16 steps
            with Lucid's rule for the zoo's ``inceptionv1``; off for every other zoo model).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if not isinstance(objective, Objective):
        raise ValueError(f"objective must be an Objective, got {type(objective).__name__}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("need at least one seed (one image per seed)")
    bad = [t for t in thresholds if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= steps]
    if bad:
        raise ValueError(f"thresholds must be steps in 1..{steps}, got {bad}")
    asked_steps, asked_rule = model_redirect_defaults(model)
    redirect_relu = asked_steps if redirect_relu is None else redirect_relu
    redirect_rule = asked_rule if redirect_rule is None else redirect_rule
    if isinstance(redirect_relu, bool) or not isinstance(redirect_relu, int) or redirect_relu < 0:
        raise ValueError(f"redirect_relu must be a non-negative number of steps, got {redirect_relu!r}")
    if redirect_rule not in REDIRECT_RULES:
        raise ValueError(f"redirect_rule must be one of {REDIRECT_RULES}, got {redirect_rule!r}")
    height, width = _size(size)
    model_device, model_dtype = _model_device_dtype(model)
    device = model_device if device is None else torch.device(device)
    dtype = model_dtype if dtype is None else dtype
    if (device, dtype) != (model_device, model_dtype):
        model.to(device=device, dtype=dtype)

    generators = [torch.Generator().manual_seed(s) for s in seeds]
    image = make_image(
        param, channels, (height, width), generators, decorrelate=decorrelate, sd=sd,
        decay_power=decay_power, device=device, dtype=dtype,
    )  # fmt: skip
    warp = AffineWarp(standard_transforms() if transforms is None else transforms, height, width, crop=crop)
    thetas = warp.sample(generators, steps).to(device=device, dtype=dtype) if steps and warp.geometric else None
    optimizer = torch.optim.Adam(image.parameters(), lr=lr)
    snapshots: dict[int, Tensor] = {}
    trace: list[Tensor] = []

    net = model
    if fuse:
        observed = [m for m in (resolve_layer(model, name) for name in objective.layers) if m is not None]
        net = fused_for_render(model, observed, channels_last=True, example=image().detach()[:1])
    redirect = RedirectedReLUs(net, redirect_rule) if redirect_relu and steps else None
    with (
        _prepared(net),
        redirect if redirect is not None else contextlib.nullcontext(),
        ActivationCapture(net, objective.layers) as capture,  # after the redirect: it sees redirected outputs
    ):
        start_images = image().detach()
        try:
            start = _evaluate(capture, objective, start_images)
        except RuntimeError as err:
            raise ValueError(
                f"{type(model).__name__} cannot process images of shape {tuple(start_images.shape)}: "
                + " ".join(str(err).split())
            ) from err
        for step in tqdm(range(1, steps + 1), disable=not progress, desc="render", leave=False):
            optimizer.zero_grad(set_to_none=True)
            if redirect is not None:
                redirect.active = step <= redirect_relu
            inputs = warp.warp(image(), None if thetas is None else thetas[step - 1])
            try:
                values = objective(capture.run(inputs))
            except RuntimeError as err:
                if step > 1:
                    raise
                raise ValueError(
                    f"{type(model).__name__} cannot process the transformed images of shape {tuple(inputs.shape)}"
                    " (the padded frame; crop=True feeds the input size): " + " ".join(str(err).split())
                ) from err
            (-values.sum()).backward()
            optimizer.step()
            trace.append(values.detach())
            if callback is not None:
                callback(step, trace[-1])
            if step in thresholds:
                snapshots[step] = image().detach().cpu()
        if redirect is not None:
            redirect.active = False
        final_images = image().detach()
        final = _evaluate(capture, objective, final_images)

    history = torch.stack(trace).double().cpu().numpy() if trace else np.zeros((0, len(seeds)))
    used = (min(redirect_relu, steps), redirect_rule) if redirect is not None else (0, "")
    return RenderResult(final_images.cpu(), start, final, snapshots, history, seeds, used)
