"""On the trained Fashion-MNIST CNN the normalisation is right: same-class control ~1, other-class control ~0."""

from __future__ import annotations

import pytest
import torch

from empirical.paths import PathSettings, path_similarity, sanity_score


@pytest.mark.slow
def test_fashion_controls() -> None:
    from empirical.data import natural_images
    from empirical.models import load_model

    model = load_model("fashion_cnn")
    d = natural_images("fashion")
    # natural images stand in for the visualizations: one test image per class from outside the sampled roles
    settings = PathSettings(images_per_class=60, n_bootstrap=300)
    stand_in = torch.stack([d.images[d.labels == c][-1] for c in range(10)])
    res = path_similarity(model, stand_in, d.images[:6000], d.labels[:6000], settings=settings, progress=False)
    for name in res.layers:
        same, other = res.control_same_class[name], res.control_other_class[name]
        assert same.score == pytest.approx(1.0, abs=0.15), (name, same)
        assert other.score == pytest.approx(0.0, abs=0.15), (name, other)
        assert same.ci_low <= 1.0 + 0.1 and other.ci_low <= 0.1
    # sanity score of a natural image of class 3 at the last layer: clearly above 0
    s = sanity_score(model, stand_in[3], 3, d.images[:3000], d.labels[:3000], settings=settings, progress=False)
    assert s.score[-1] > 0.5
