"""Addressing layers by name and capturing their outputs with forward hooks.

A model is any ``nn.Module`` mapping images in ``[0, 1]`` to outputs. Layer names come from
``model.layer_names()``/``model.get_layer(name)`` when the model has them (the zoo's ``ZooModel``), otherwise
from ``model.named_modules()``. The name ``"logits"`` always means the model's output.
"""

from __future__ import annotations

from collections.abc import Collection
from types import TracebackType

import torch
from torch import Tensor, nn

__all__ = ["LOGITS", "ActivationCapture", "layer_names", "resolve_layer"]

#: The layer name of a model's output.
LOGITS = "logits"


def _is_zoo_model(model: nn.Module) -> bool:
    return callable(getattr(model, "get_layer", None)) and callable(getattr(model, "layer_names", None))


def layer_names(model: nn.Module) -> list[str]:
    """The names usable as layers: the model's own list, or its named sub-modules, plus ``"logits"``."""
    if _is_zoo_model(model):
        names = [str(n) for n in model.layer_names()]
    else:
        names = [name for name, _ in model.named_modules() if name]
    return names if LOGITS in names else [*names, LOGITS]


def resolve_layer(model: nn.Module, name: str) -> nn.Module | None:
    """The module called ``name`` (``None`` for ``"logits"``); unknown names raise ``ValueError`` listing all."""
    if not isinstance(name, str):
        raise ValueError(f"layer name must be a str, got {name!r}")
    if name == LOGITS:
        return None
    if _is_zoo_model(model):
        return model.get_layer(name)
    modules = dict(model.named_modules())
    if name not in modules or not name:
        raise ValueError(f"unknown layer {name!r} for {type(model).__name__}; layers: {', '.join(layer_names(model))}")
    return modules[name]


class _StopForward(Exception):  # noqa: N818 - control flow, not an error
    """Raised by a hook once every requested layer is captured, to skip the rest of the forward pass."""


class ActivationCapture:
    """Context manager hooking ``layers`` of ``model``; ``run(images)`` returns ``{layer: output}``.

    When ``"logits"`` is not requested the forward pass stops right after the last requested layer has run
    (its remaining layers cannot change the objective).
    """

    def __init__(self, model: nn.Module, layers: Collection[str]) -> None:
        self.model = model
        self.layers = tuple(dict.fromkeys(layers))
        if not self.layers:
            raise ValueError("no layers to capture")
        self.modules = {name: resolve_layer(model, name) for name in self.layers}
        self._hooked = {name: m for name, m in self.modules.items() if m is not None}
        self._need_output = LOGITS in self.layers
        self._acts: dict[str, Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, name: str):  # noqa: ANN202 - torch hook signature
        def hook(module: nn.Module, inputs: tuple[object, ...], output: object) -> None:
            if not isinstance(output, Tensor):
                raise ValueError(f"layer {name!r} returns {type(output).__name__}, not a tensor")
            self._acts[name] = output
            if not self._need_output and len(self._acts) == len(self._hooked):
                raise _StopForward

        return hook

    def __enter__(self) -> ActivationCapture:
        self._handles = [m.register_forward_hook(self._hook(n)) for n, m in self._hooked.items()]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def run(self, images: Tensor) -> dict[str, Tensor]:
        """One forward pass; the outputs of the requested layers (``"logits"``: the model's output)."""
        self._acts = {}
        try:
            output = self.model(images)
        except _StopForward:
            output = None
        if self._need_output:
            if not isinstance(output, Tensor):
                raise ValueError(f"the model returns {type(output).__name__}, not a tensor of logits")
            self._acts[LOGITS] = output
        missing = [n for n in self.layers if n not in self._acts]
        if missing:
            raise ValueError(f"layers {missing} did not run in the forward pass")
        acts, self._acts = self._acts, {}
        return acts
