r"""Redirected ReLU gradients for the first optimisation steps (Lucid's ``redirected_relu_grad``).

From a random start image a unit behind a ReLU may not fire at all; its gradient is then zero and the render never
starts. Lucid overrides the ReLU's gradient for the first steps of a render. With :math:`x` the ReLU's input and
:math:`g = \partial L/\partial \mathrm{relu}(x)` the incoming gradient of the loss :math:`L = -\text{objective}`
(gradient *descent*: a negative :math:`g` pushes :math:`x` up), for each batch entry :math:`b`:

.. math:: r = g \odot [x \ge 0], \qquad
          \tilde r = g \odot \big(1 - [x < 0][g > 0]\big), \qquad
          \partial L / \partial x_b = \begin{cases} r_b & \lVert r_b \rVert > 0 \\ \tilde r_b & \text{else} \end{cases}

i.e. the ordinary gradient wherever any of it gets through for that image, otherwise the gradient that pushes
negative inputs up (rule ``"lucid"``). Lucid keeps the override while its global step is at most 16.
Lucent's ``RedirectedReLU`` (rule ``"lucent"``, built into its ``inceptionv1`` module and used there at every
step) instead passes :math:`0.1\,g` where :math:`x < 0`. The forward values are the ReLU's in both rules.

The override applies to the ``nn.ReLU`` modules of a model (functional ``torch.relu`` calls cannot be seen);
it is switched per step by :class:`RedirectedReLUs`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["REDIRECT_RULES", "RedirectedReLUs", "model_redirect_defaults", "redirected_relu"]

REDIRECT_RULES = ("lucid", "lucent")


class _LucidReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # noqa: ANN401 - torch's signature
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # noqa: ANN401 - torch's signature
        (x,) = ctx.saved_tensors
        negative = x < 0
        relu_grad = grad.masked_fill(negative, 0)
        redirected = grad.masked_fill(negative & (grad > 0), 0)
        if x.ndim < 2:
            raise ValueError("redirected ReLU needs a batch dimension")
        passes = relu_grad.flatten(1).norm(dim=1) > 0
        return torch.where(passes.view(-1, *([1] * (x.ndim - 1))), relu_grad, redirected)


class _LucentReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # noqa: ANN401 - torch's signature
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # noqa: ANN401 - torch's signature
        (x,) = ctx.saved_tensors
        return torch.where(x < 0, grad * 0.1, grad)


def redirected_relu(x: Tensor, rule: str = "lucid") -> Tensor:
    """``relu(x)`` whose gradient follows ``rule`` (``"lucid"`` or ``"lucent"``, see the module docstring)."""
    if rule == "lucid":
        return _LucidReLU.apply(x)
    if rule == "lucent":
        return _LucentReLU.apply(x)
    raise ValueError(f"redirect rule must be one of {REDIRECT_RULES}, got {rule!r}")


def model_redirect_defaults(model: nn.Module) -> tuple[int, str]:
    """``(steps, rule)`` the model asks for: the first module (the model itself first, then its sub-modules,
    so a wrapper around a zoo model inherits it) with a ``redirect_relu_steps`` attribute; ``(0, "lucid")`` if
    none does."""
    for module in model.modules():
        steps = getattr(module, "redirect_relu_steps", None)
        if steps is not None:
            return int(steps), str(getattr(module, "redirect_relu_rule", "lucid"))
    return 0, "lucid"


class RedirectedReLUs:
    """Context manager: while ``active`` is true, every ``nn.ReLU`` of ``model`` returns :func:`redirected_relu`
    of its input (same values, redirected gradient). In-place ReLUs run out of place for the duration (their
    input must survive for the gradient rule); everything is restored on exit. Enter it before hooks that read
    ReLU outputs (e.g. :class:`ActivationCapture`), so that they see the redirected tensors.
    """

    def __init__(self, model: nn.Module, rule: str = "lucid") -> None:
        if rule not in REDIRECT_RULES:
            raise ValueError(f"redirect rule must be one of {REDIRECT_RULES}, got {rule!r}")
        self.relus = [m for m in model.modules() if type(m) is nn.ReLU]
        if not self.relus:
            raise ValueError(
                f"{type(model).__name__} has no nn.ReLU modules: redirected ReLU applies to nn.ReLU modules only"
            )
        self.rule = rule
        self.active = False
        self._inplace: list[bool] = []
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, _module: nn.Module, inputs: tuple[Tensor, ...], _output: Tensor) -> Tensor | None:
        return redirected_relu(inputs[0], self.rule) if self.active else None

    def __enter__(self) -> RedirectedReLUs:
        self._inplace = [m.inplace for m in self.relus]
        for m in self.relus:
            m.inplace = False
        self._handles = [m.register_forward_hook(self._hook) for m in self.relus]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self._handles:
            handle.remove()
        for m, flag in zip(self.relus, self._inplace, strict=True):
            m.inplace = flag
        self._handles, self.active = [], False
