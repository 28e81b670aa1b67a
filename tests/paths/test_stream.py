"""Streaming over batches gives the all-at-once means; the analysis is exact on a toy model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from empirical.paths import PathSettings, embed, path_similarity, pool, role_groups, stream_group_means


class _Toy(nn.Module):
    """A 2-layer conv net with the ZooModel ``activations`` interface."""

    name = "toy"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(16))
        self.net(torch.zeros(1, 1, 8, 8))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    @torch.no_grad()
    def activations(self, images: Tensor, layers: list[str]) -> dict[str, Tensor]:
        out = {"conv": self.net[0](images)}
        out["logits"] = self.net(images)
        return {n: out[n] for n in layers}


def test_streaming_equals_all_at_once() -> None:
    model = _Toy()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(37, 1, 8, 8, generator=g)
    groups = torch.randint(-1, 5, (37,), generator=g)
    for metric in ("spearman", "pearson", "cosine"):
        for pooling in ("mean", "flatten"):
            streamed = stream_group_means(
                model, ((x[i : i + 5], groups[i : i + 5]) for i in range(0, 37, 5)), ["conv", "logits"], 5,
                metric, pooling, progress=False,
            ).means()  # fmt: skip
            acts = model.activations(x, ["conv", "logits"])
            for name, a in acts.items():
                e = embed(pool(a, pooling), metric)
                ref = torch.stack([e[groups == k].mean(0) for k in range(5)])
                np.testing.assert_allclose(streamed[name].numpy(), ref.numpy(), rtol=0, atol=1e-6)  # float32 batching


def test_bucketed_streaming_equals_all_at_once() -> None:
    model = _Toy()
    g = torch.Generator().manual_seed(5)
    x = torch.rand(41, 1, 8, 8, generator=g)
    groups = torch.randint(-1, 4, (41,), generator=g)
    buckets = torch.randint(0, 3, (41,), generator=g)
    acc = stream_group_means(
        model, ((x[i : i + 6], groups[i : i + 6], buckets[i : i + 6]) for i in range(0, 41, 6)), ["conv"], 4,
        "pearson", "flatten", progress=False, n_buckets=3,
    )  # fmt: skip
    e = embed(pool(model.activations(x, ["conv"])["conv"], "flatten"), "pearson")
    for k in range(4):
        for m in range(3):
            sel = (groups == k) & (buckets == m)
            np.testing.assert_allclose(acc.bucket_sums()["conv"][k, m].numpy(), e[sel].sum(0).numpy(), atol=1e-12)
            assert acc.bucket_counts()[k, m] == int(sel.sum())
    ref = torch.stack([e[groups == k].mean(0) for k in range(4)])
    np.testing.assert_allclose(acc.means()["conv"].numpy(), ref.numpy(), atol=1e-12)


def test_role_groups_round_robin_across_batches() -> None:
    seen: dict[int, int] = {}
    first, _ = role_groups(torch.tensor([3, 3, 7, 9]), [7, 3], per_class=1, seen=seen)
    second, _ = role_groups(torch.tensor([3, 3, 7]), [7, 3], per_class=1, seen=seen)
    assert first.tolist() == [1, 3, 0, -1]  # role * K + k: 3 is k=1, 7 is k=0; 9 not a class
    assert second.tolist() == [5, -1, 2]  # third image of class 3 -> control; fourth: surplus
    groups, buckets = role_groups(torch.zeros(9, dtype=torch.long), [0, 1], per_class=3, n_buckets=2)
    assert groups.tolist() == [0, 2, 4] * 3
    assert buckets.tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0]  # (i // 3) mod min(n_buckets, per_class)


def test_toy_analysis_controls_and_identity() -> None:
    model = _Toy()
    g = torch.Generator().manual_seed(2)
    k, n = 4, 120
    protos = torch.rand(k, 1, 8, 8, generator=g)
    labels = torch.arange(k).repeat_interleave(n)
    x = (protos[labels] + 0.15 * torch.randn(k * n, 1, 8, 8, generator=g)).clamp(0, 1)
    settings = PathSettings(images_per_class=40, n_bootstrap=100, batch_size=16)
    res = path_similarity(model, protos, x, labels, layers=["conv", "logits"], settings=settings, progress=False)
    for name in res.layers:
        assert res.control_same_class[name].score == pytest.approx(1, abs=0.3)
        assert res.control_other_class[name].score == pytest.approx(0, abs=0.3)
        assert res.score[name].score > 0.5  # the class prototypes are typical images of their class
    assert res.counts == {"reference": [40] * 4, "heldout": [40] * 4, "control": [40] * 4}
    with pytest.raises(ValueError, match="at least 2 classes"):
        path_similarity(model, protos[:1], x[:60], labels[:60], layers=["conv"],
                        settings=PathSettings(images_per_class=5), progress=False)  # fmt: skip


def test_sanity_score_for_a_unit() -> None:
    from empirical.paths import sanity_score

    model = _Toy()
    g = torch.Generator().manual_seed(7)
    x = torch.rand(200, 1, 8, 8, generator=g)
    settings = PathSettings(images_per_class=10, n_bootstrap=0, batch_size=50, pooling="flatten")
    # (channel means of uniform noise rank the 6 channels the same way for every image: flatten instead)
    # the image that drives conv unit 2 most is a typical "top" image: high score at that layer
    top = model.activations(x, ["conv"])["conv"][:, 2].flatten(1).mean(1).argmax()
    s = sanity_score(model, x[top], ("conv", 2), x, layers=["conv", "logits"], settings=settings, progress=False)
    assert s.layers == ["conv", "logits"] and s.score[0] > 0.5
    with pytest.raises(ValueError, match="units"):
        sanity_score(model, x[0], ("conv", 99), x, layers=["conv"], settings=settings, progress=False)
