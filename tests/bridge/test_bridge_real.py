"""The bridge on the real Fashion-MNIST CNN (slow: not in the default run; CI runs it with ``pytest -m slow``).

The zoo's ``fashion_cnn`` is trained first if its weights are not cached (about 850 CPU seconds on 2 cores, see
``benchmarks/results/fashion_train.json``; other slow tests then reuse the cache). The analysis itself is small:
150 test images, a pool of 1,000 exemplars, 96 visualization steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fashion() -> tuple:
    models = pytest.importorskip("empirical.models")
    pytest.importorskip("empirical.data")
    from empirical.bridge import load_bridge_data

    torch.manual_seed(0)
    model = models.load_model("fashion_cnn", device="cpu")
    return model, load_bridge_data("fashion_cnn", 150, 1000, seed=0)


def _conv_layer(model: torch.nn.Module) -> str:
    """The last conv layer's name (the unit's layer)."""
    convs = [n for n, m in model.net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    return convs[-1]


@pytest.mark.parametrize("where", ["conv", "logits"])
def test_every_activation_lies_in_its_certified_range(fashion: tuple, where: str) -> None:
    from empirical.bridge import analyse

    model, data = fashion
    layer = _conv_layer(model) if where == "conv" else "logits"
    result = analyse(model, layer, 3, data, exemplars=3, steps=96, random_points=16, progress=False)
    rep = result.report
    lip = rep["lipschitz"]
    assert lip["upper"]["forward_error"] < 1e-4
    assert 0 < lip["lower"]["lower"] <= lip["upper"]["upper"] and lip["lower_le_upper"]
    assert rep["closed_form_vs_value_range"]["max_deviation"] < 1e-9
    cert = rep["certified"]
    n = len(data.test)
    assert cert["contained_unconditional"] == n  # certified L, true values: no premise needed
    assert rep["actual"]["outside_fmin_fmax"] == 0  # the visualizations beat every natural test image
    assert cert["contained"] == n and cert["violations"] == [] and cert["decided_wrong"] == 0
    lo, hi = result.certified
    assert np.all(lo <= hi)
