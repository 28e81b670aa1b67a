"""The class ``neural_network``: ReLU networks (continuous piecewise-affine maps [0,1]^d -> R)."""

from __future__ import annotations

from theory.classes._interpolating import InterpolatingClass


class NeuralNetwork(InterpolatingClass):
    """ReLU networks (continuous piecewise-affine maps [0,1]^d -> R).

    Value range at an unobserved x: [f_min, f_max], both ends attained by tent ReLU networks."""

    name = "neural_network"
    label = "neural network (NN)"
