r"""Lucid's InceptionV1 ("inception5h"), the network of the paper and of the Circuits thread, with Lucent's names.

The architecture is the TensorFlow graph ``inception5h`` as converted to PyTorch for Lucent
(``lucent.modelzoo.inceptionv1``); it is written here from its published facts, not copied:

* input: RGB in :math:`[0, 255] - 117` (Lucid's ``image_value_range = (-117, 138)``); the zoo model takes images
  in [0, 1] and applies :math:`x \cdot 255 - 117` itself (as mean :math:`117/255` and std :math:`1/255`);
* stem: ``conv2d0`` (7x7, stride 2, 64) -> ReLU -> ``maxpool0`` (3x3, stride 2) -> ``localresponsenorm0`` ->
  ``conv2d1`` (1x1, 64) -> ReLU -> ``conv2d2`` (3x3, 192) -> ReLU -> ``localresponsenorm1`` -> ``maxpool1``;
* nine mixed blocks ``mixed3a`` ... ``mixed5b``: four branches, concatenated in the order 1x1, 3x3, 5x5, pool:
  ``{m}_1x1``; ``{m}_3x3_bottleneck`` (1x1) -> ``{m}_3x3``; ``{m}_5x5_bottleneck`` (1x1) -> ``{m}_5x5`` (a true
  5x5, unlike torchvision's GoogLeNet); ``{m}_pool`` (3x3 max pool, stride 1) -> ``{m}_pool_reduce`` (1x1);
  every convolution ``{name}_pre_relu_conv`` is followed by a ReLU module ``{name}``; ``maxpool4`` (after
  ``mixed3b``) and ``maxpool10`` (after ``mixed4e``) halve the resolution;
* head: ``avgpool0`` (7x7 average, stride 1, no padding) -> ``softmax2_pre_activation_matmul`` (1024 -> 1008):
  the 1008 pre-softmax logits (the model's output; ``softmax2`` is not applied).

Local response norms (Lucent's values, torch's convention :math:`b_c = a_c / (k + \frac{\alpha}{n}
\sum_{c' \in [c - 4, c + 4]} a_{c'}^2)^{\beta}`): :math:`n = 9`, :math:`\alpha = 9.99999974738 \cdot 10^{-5}`,
:math:`\beta = 0.5`, :math:`k = 1`.

TensorFlow's "SAME" padding: a layer with kernel :math:`k` and stride :math:`s` on a side of length :math:`n`
pads :math:`p = \max((\lceil n/s \rceil - 1) s + k - n, 0)` in all, :math:`\lfloor p/2 \rfloor` before and the
rest after. Stride-1 layers pad symmetrically (zeros for convolutions, :math:`-\infty` for max pools); the five
stride-2 layers pad asymmetrically. Lucent fixes those pads to their values at even sides (conv2d0: 2 before /
3 after; stride-2 max pools: 0 / 1) whatever the input size; ``padding="lucent"`` (default) does the same, so a
state dict gives Lucent's outputs at every size; ``padding="tensorflow"`` computes TensorFlow's pads for the
actual size (the two agree whenever every stride-2 layer sees an even side, e.g. at 224 px).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from empirical.models._zoo import ZooModel, load_state, register

__all__ = [
    "LRN",
    "MIXED",
    "N_OUTPUTS",
    "InceptionV1",
    "inceptionv1_labels",
    "parameter_manifest",
    "same_pads",
]

N_OUTPUTS = 1008
#: Local response norm of the stem (torch's ``F.local_response_norm`` arguments).
LRN = {"size": 9, "alpha": 9.99999974738e-05, "beta": 0.5, "k": 1.0}
#: Mixed blocks: name, input channels, 1x1, 3x3 bottleneck, 3x3, 5x5 bottleneck, 5x5, pool reduce.
MIXED: tuple[tuple[str, int, int, int, int, int, int, int], ...] = (
    ("mixed3a", 192, 64, 96, 128, 16, 32, 32),
    ("mixed3b", 256, 128, 128, 192, 32, 96, 64),
    ("mixed4a", 480, 192, 96, 204, 16, 48, 64),
    ("mixed4b", 508, 160, 112, 224, 24, 64, 64),
    ("mixed4c", 512, 128, 128, 256, 24, 64, 64),
    ("mixed4d", 512, 112, 144, 288, 32, 64, 64),
    ("mixed4e", 528, 256, 160, 320, 32, 128, 128),
    ("mixed5a", 832, 256, 160, 320, 48, 128, 128),
    ("mixed5b", 832, 384, 192, 384, 48, 128, 128),
)
#: Stride-2 max pools placed before the named mixed block.
_POOL_BEFORE = {"mixed3a": "maxpool1", "mixed4a": "maxpool4", "mixed5a": "maxpool10"}
PADDINGS = ("lucent", "tensorflow")
#: Lucid's redirected-ReLU override is on while its global step is at most 16 (``redirected_relu_grad.py``).
REDIRECT_RELU_STEPS = 16
_HERE = Path(__file__).resolve().parent
LABELS_FILE = _HERE / "inceptionv1_labels.json"
MANIFEST_FILE = _HERE / "inceptionv1_parameters.json"


def same_pads(n: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "SAME" padding (before, after) of one side of length ``n``."""
    total = max((-(-n // stride) - 1) * stride + kernel - n, 0)
    return total // 2, total - total // 2


def pad_same(x: Tensor, kernel: int, stride: int, value: float, padding: str) -> Tensor:
    """``x`` (N, C, H, W) padded as TensorFlow's "SAME" would before a ``kernel``/``stride`` layer.

    ``padding="lucent"``: the pads of an even side, whatever the size (Lucent's fixed pads); ``"tensorflow"``:
    computed from the actual height and width. ``value``: 0 for convolutions, ``-inf`` for max pools.
    """
    h, w = (2 * stride, 2 * stride) if padding == "lucent" else (int(x.shape[-2]), int(x.shape[-1]))
    top, bottom = same_pads(h, kernel, stride)
    left, right = same_pads(w, kernel, stride)
    return F.pad(x, (left, right, top, bottom), value=value)


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "SAME" zero padding (asymmetric for even kernels or strides > 1)."""

    def __init__(self, inp: int, out: int, kernel: int, stride: int = 1, padding: str = "lucent") -> None:
        super().__init__(inp, out, kernel, stride)
        self.same = padding

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(pad_same(x, self.kernel_size[0], self.stride[0], 0.0, self.same))


class MaxPoolSame(nn.Module):
    """A ``kernel`` x ``kernel`` max pool with TensorFlow's "SAME" padding (pads are :math:`-\\infty`)."""

    def __init__(self, kernel: int, stride: int, padding: str = "lucent") -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(
            pad_same(x, self.kernel, self.stride, float("-inf"), self.padding), self.kernel, self.stride
        )

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding={self.padding!r}"


class LocalResponseNorm(nn.Module):
    """Local response norm across channels with the stem's constants :data:`LRN`."""

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, **LRN)  # type: ignore[arg-type]


class Concat(nn.Module):
    """Concatenation of the branches along channels: the output of a mixed block."""

    def forward(self, *branches: Tensor) -> Tensor:
        return torch.cat(branches, 1)


class InputSizeError(ValueError, RuntimeError):
    """An input size the classifier head cannot take (a ``ValueError`` for users, a ``RuntimeError`` for code
    that probes shapes as torch reports them)."""


class AvgPool7(nn.Module):
    """``avgpool0``: 7x7 average pool, stride 1, no padding, then flattened to (N, 1024).

    The classifier expects a 7x7 ``mixed5b`` (224 px inputs, or 248 px with Lucent's pads); any other size
    raises ``ValueError`` (the original graph's reshape would mix spatial positions into the batch).
    """

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[-2:]) != (7, 7):
            raise InputSizeError(
                f"inceptionv1's classifier needs a 7x7 mixed5b, got {tuple(x.shape[-2:])} (input 224 px, or 248 px "
                "with padding='lucent'); layers before softmax2_pre_activation_matmul work at other sizes"
            )
        return F.avg_pool2d(x, 7, 1).flatten(1)


class InceptionV1(nn.Module):
    """inception5h with Lucent's flat module names (``conv2d0_pre_relu_conv``, ``mixed4a``, ...).

    Input: RGB in Lucid's range :math:`[-117, 138]`; output: the 1008 pre-softmax logits.
    """

    def __init__(self, padding: str = "lucent") -> None:
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        self.padding = padding
        self._conv("conv2d0", 3, 64, 7, stride=2)
        self.maxpool0 = MaxPoolSame(3, 2, padding)
        self.localresponsenorm0 = LocalResponseNorm()
        self._conv("conv2d1", 64, 64, 1)
        self._conv("conv2d2", 64, 192, 3)
        self.localresponsenorm1 = LocalResponseNorm()
        for name, inp, c1, c3r, c3, c5r, c5, pool in MIXED:
            if name in _POOL_BEFORE:
                setattr(self, _POOL_BEFORE[name], MaxPoolSame(3, 2, padding))
            self._conv(f"{name}_1x1", inp, c1, 1)
            self._conv(f"{name}_3x3_bottleneck", inp, c3r, 1)
            self._conv(f"{name}_3x3", c3r, c3, 3)
            self._conv(f"{name}_5x5_bottleneck", inp, c5r, 1)
            self._conv(f"{name}_5x5", c5r, c5, 5)
            setattr(self, f"{name}_pool", MaxPoolSame(3, 1, padding))
            self._conv(f"{name}_pool_reduce", inp, pool, 1)
            setattr(self, name, Concat())
        self.avgpool0 = AvgPool7()
        self.softmax2_pre_activation_matmul = nn.Linear(1024, N_OUTPUTS)

    def _conv(self, name: str, inp: int, out: int, kernel: int, stride: int = 1) -> None:
        """``{name}_pre_relu_conv`` (with its "SAME" padding) and the ReLU module ``{name}``."""
        if stride == 1:  # "SAME" is symmetric here: (k - 1) / 2 zeros on every side
            conv = nn.Conv2d(inp, out, kernel, padding=(kernel - 1) // 2)
        else:
            conv = SameConv2d(inp, out, kernel, stride, self.padding)
        setattr(self, f"{name}_pre_relu_conv", conv)
        setattr(self, name, nn.ReLU())

    def _unit(self, name: str, x: Tensor) -> Tensor:
        return getattr(self, name)(getattr(self, f"{name}_pre_relu_conv")(x))

    def _mixed(self, name: str, x: Tensor) -> Tensor:
        b1 = self._unit(f"{name}_1x1", x)
        b3 = self._unit(f"{name}_3x3", self._unit(f"{name}_3x3_bottleneck", x))
        b5 = self._unit(f"{name}_5x5", self._unit(f"{name}_5x5_bottleneck", x))
        bp = self._unit(f"{name}_pool_reduce", getattr(self, f"{name}_pool")(x))
        return getattr(self, name)(b1, b3, b5, bp)

    def forward(self, x: Tensor) -> Tensor:
        x = self.localresponsenorm0(self.maxpool0(self._unit("conv2d0", x)))
        x = self.localresponsenorm1(self._unit("conv2d2", self._unit("conv2d1", x)))
        for name, *_ in MIXED:
            if name in _POOL_BEFORE:
                x = getattr(self, _POOL_BEFORE[name])(x)
            x = self._mixed(name, x)
        return self.softmax2_pre_activation_matmul(self.avgpool0(x))


@lru_cache(maxsize=1)
def parameter_manifest() -> dict[str, tuple[int, ...]]:
    """Lucent's parameter names and shapes (``inceptionv1_parameters.json``, written from Lucent's module)."""
    data = json.loads(MANIFEST_FILE.read_text())
    return {name: tuple(shape) for name, shape in data["parameters"].items()}


@lru_cache(maxsize=1)
def inceptionv1_labels() -> tuple[tuple[str | None, ...], tuple[str, ...]]:
    """(WordNet id, class name) of each of the 1008 outputs: outputs 1-1000 in ILSVRC-2012 devkit order
    (``inceptionv1_labels.json``, from Lucent's ``old_imagenet_labels.txt``); output 0 and 1001-1007 unused."""
    data = json.loads(LABELS_FILE.read_text())
    wnids: list[str | None] = [None] * N_OUTPUTS
    names = ["(unused)"] * N_OUTPUTS
    for wnid, index, name in data["labels"]:
        wnids[index], names[index] = wnid, name
    return tuple(wnids), tuple(names)


def hub_cache_path() -> Path:
    """Where Lucent keeps ``inception5h.pth`` after ``inceptionv1(pretrained=True)`` (torch hub's cache)."""
    import os

    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")), "torch"
    )
    return Path(home) / "hub" / "checkpoints" / "inception5h.pth"


def _missing_weights_message() -> str:
    cached = hub_cache_path()
    where = (
        f"a copy exists in torch hub's cache: {cached}"
        if cached.is_file()
        else f"Lucent's inceptionv1(pretrained=True) saves it as {cached}"
    )
    return (
        "no inceptionv1 weights ship offline (nothing is downloaded): pass Lucent's inception5h.pth, a state dict "
        f"with Lucent's parameter names ({where}; it comes from ProGamerGov's pytorch-old-tensorflow-models "
        "repository), as load_model('inceptionv1', weights='PATH') or --weights PATH, or weights='random'"
    )


def check_state(state: object, source: str) -> dict[str, Tensor]:
    """``state`` as a state dict with exactly Lucent's names and shapes; else a one-line ``ValueError``."""
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"weights file {source!r} does not hold a state dict of tensors")
    expected = parameter_manifest()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        raise ValueError(
            f"weights file {source!r} is not an inceptionv1 (inception5h) state dict with Lucent's names: "
            f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]})"
        )
    wrong = [f"{k} {tuple(state[k].shape)} != {shape}" for k, shape in expected.items() if state[k].shape != shape]
    if wrong:
        raise ValueError(f"weights file {source!r}: wrong shapes: {'; '.join(wrong[:3])}")
    bad = [k for k, v in state.items() if not v.is_floating_point() or not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"weights file {source!r}: non-finite or non-float values in {bad[:3]}")
    return state  # type: ignore[return-value]


class LucidInceptionV1(ZooModel):
    """The zoo wrapper with Lucid's preprocessing computed literally, :math:`x \\cdot 255 - 117` (the ``mean``
    and ``std`` buffers, :math:`117/255` and :math:`1/255`, state the same map; computed as ``(x - mean) / std``
    it rounds differently, and gradients through max-pool near-ties can then differ from Lucent's)."""

    def normalize(self, images: Tensor) -> Tensor:
        return images * 255 - 117


@register("inceptionv1")
def load_inceptionv1(weights: str | Path | None = None, padding: str = "lucent") -> ZooModel:
    """Lucid's InceptionV1 with ``weights`` (Lucent's ``inception5h.pth``, or ``"random"`` for an untrained net).

    Outputs follow the ILSVRC-2012 devkit order (``wnids``); visualizations redirect ReLU gradients for the
    first 16 steps with Lucid's rule unless the render says otherwise (``redirect_relu_steps``).
    """
    if weights is None:
        raise ValueError(_missing_weights_message())
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    net = InceptionV1(padding=padding)
    if weights != "random":
        state = check_state(load_state(weights), str(weights))
        net.load_state_dict({k: v.float() for k, v in state.items()})
    wnids, names = inceptionv1_labels()
    src = "random initialisation" if weights == "random" else f"user weights {weights}"
    model = LucidInceptionV1(
        "inceptionv1", net, (3, 224, 224), names, (117 / 255,) * 3, (1 / 255,) * 3, source=src, wnids=wnids
    )
    model.label_source = "ILSVRC-2012 devkit order (Lucent's old_imagenet_labels.txt)"
    model.redirect_relu_steps = REDIRECT_RELU_STEPS
    model.redirect_relu_rule = "lucid"
    return model
