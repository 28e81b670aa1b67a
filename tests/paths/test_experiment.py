"""``run_paths`` pieces without real data: class choice, role assignment, depth summary, FV chunk cache, and the
natural-image statistics on 2 gloo processes equal to one process."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from empirical.paths import (
    LayerScore,
    PathResult,
    PathSettings,
    assign_roles,
    choose_classes,
    depth_summary,
    natural_stats,
    natural_stats_sharded,
    render_visualizations,
    role_groups,
)
from empirical.paths._experiment import _Natural
from tests.paths._toy import toy_zoo


def test_choose_classes() -> None:
    labels = torch.tensor([0] * 6 + [1] * 2 + [2] * 5 + [3] * 7 + [-1] * 9)
    assert choose_classes(labels, 5, None, 0) == ([0, 2, 3], 3)
    two, n = choose_classes(labels, 5, 2, 0)
    assert n == 3 and len(two) == 2 and two == sorted(two) and set(two) <= {0, 2, 3}
    assert choose_classes(labels, 5, 2, 0) == (two, 3)  # seeded
    with pytest.raises(ValueError, match="--classes 4: only 3 classes"):
        choose_classes(labels, 5, 4, 0)
    with pytest.raises(ValueError, match="--min-photos 8"):
        choose_classes(labels, 8, None, 0)


def test_assign_roles_is_the_shuffled_stream_assignment() -> None:
    g = torch.Generator().manual_seed(3)
    labels = torch.randint(-1, 5, (200,), generator=g)
    groups, buckets = assign_roles(labels, [0, 2, 4], per_class=7, n_buckets=3, seed=11)
    order = torch.randperm(200, generator=torch.Generator().manual_seed(11))
    g_o, b_o = role_groups(labels[order], [0, 2, 4], 7, None, 3)
    assert torch.equal(groups[order], g_o) and torch.equal(buckets[order], b_o)
    for k, c in enumerate([0, 2, 4]):
        n = min(int((labels == c).sum()), 21)
        per_role = [int((groups == r * 3 + k).sum()) for r in range(3)]
        assert sum(per_role) == n and max(per_role) - min(per_role) <= 1
    assert bool((groups[(labels == 1) | (labels == 3) | (labels < 0)] == -1).all())


def _result(scores: list[float], reps: list[np.ndarray]) -> PathResult:
    layers = [f"l{i}" for i in range(len(scores))]
    block = {n: LayerScore(s, s - 0.1, s + 0.1, []) for n, s in zip(layers, scores, strict=True)}
    return PathResult(
        layers, [0, 1], ["a", "b"], block, block, block, {}, {}, {"confidence": 0.9},
        {key: dict(zip(layers, reps, strict=True)) for key in ("score", "control_same_class", "control_other_class")},
    )  # fmt: skip


def test_depth_summary_means_and_intervals() -> None:
    rng = np.random.default_rng(0)
    scores = [0.0, 0.1, -0.1, 0.05, 0.0, 0.02, 0.6, 0.9, 1.0]
    reps = [s + rng.normal(0, 0.05, 4000) for s in scores]
    out = depth_summary(_result(scores, reps))
    assert out["early"]["layers"] == [f"l{i}" for i in range(6)] and out["late"]["layers"] == ["l6", "l7", "l8"]
    assert out["early"]["mean"] == pytest.approx(np.mean(scores[:6]))
    assert out["late"]["mean"] == pytest.approx(np.mean(scores[6:]))
    lo, hi = out["early"]["ci"]
    half = 1.645 * 0.05 / np.sqrt(6)  # 90 % interval of a mean of 6 independent N(., 0.05)
    assert lo == pytest.approx(out["early"]["mean"] - half, abs=0.01) and hi == pytest.approx(
        out["early"]["mean"] + half, abs=0.01
    )
    assert out["early_ci_contains_0"] and out["late_above_early"]
    assert out["per_layer"]["l0"] == "contains 0" and out["per_layer"]["l8"] == "above 0"
    flat = depth_summary(_result([0.5] * 9, [0.5 + rng.normal(0, 0.05, 4000) for _ in range(9)]))
    assert not flat["early_ci_contains_0"] and not flat["late_above_early"]


def test_render_cache_resumes_and_is_batch_independent(tmp_path: Path) -> None:
    model = toy_zoo()
    vis, counts = render_visualizations(model, [1, 3, 4], [0, 1], 3, tmp_path / "a", chunk=2)
    assert vis.shape == (3, 2, 3, 16, 16) and counts == {"rendered": 4, "loaded": 0}
    one, _ = render_visualizations(model, [1, 3, 4], [0, 1], 3, tmp_path / "b", chunk=1)
    torch.testing.assert_close(one, vis, atol=1e-5, rtol=0)  # each image seeded by its own (seed, class)
    files = sorted((tmp_path / "a").glob("*.pt"))
    files[0].unlink()
    files[1].write_bytes(b"not a tensor file")
    again, counts = render_visualizations(model, [1, 3, 4], [0, 1], 3, tmp_path / "a", chunk=2)
    assert counts == {"rendered": 2, "loaded": 2}
    torch.testing.assert_close(again, vis, atol=1e-5, rtol=0)
    _, counts = render_visualizations(model, [1, 3, 4], [0, 1], 4, tmp_path / "a", chunk=2)  # other steps
    assert counts["rendered"] == 4


def _toy_natural(n: int = 90) -> tuple[torch.Tensor, _Natural]:
    g = torch.Generator().manual_seed(4)
    images = torch.rand(n, 3, 16, 16, generator=g)
    labels = torch.arange(n) % 5

    def read(idx: list[int]):  # noqa: ANN202
        for i in range(0, len(idx), 7):
            j = torch.tensor(idx[i : i + 7], dtype=torch.long)
            yield images[j], j

    return images, _Natural(labels, "toy", None, read)


def _stats_one_process(metrics: tuple[str, ...]) -> dict[str, torch.Tensor]:
    _, nat = _toy_natural()
    groups, buckets = assign_roles(nat.labels, [0, 1, 2, 3, 4], 5, 2, 0)
    stats = natural_stats_sharded(toy_zoo(), nat, groups, buckets, 5, ["0", "logits"], metrics, "mean", 2)
    return {f"{m}/{n}": s for m, st in stats.items() for n, s in st.sums.items()} | {"counts": stats[metrics[0]].counts}


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    from empirical import _distributed as dist

    assert dist.init_from_env("cpu")
    res = _stats_one_process(("spearman", "cosine"))
    if rank == 0:
        torch.save(res, out)
    torch.distributed.destroy_process_group()


def test_sharded_statistics_equal_one_process(tmp_path: Path) -> None:
    single = _stats_one_process(("spearman", "cosine"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "two.pt"
    mp.start_processes(_worker, args=(2, port, str(out)), nprocs=2, join=True, start_method="spawn")
    two = torch.load(out, weights_only=True)
    assert set(two) == set(single)
    assert torch.equal(two["counts"], single["counts"]) and int(single["counts"].sum()) == 75
    for key in single:
        torch.testing.assert_close(two[key], single[key], rtol=0, atol=1e-9)


def test_sharded_statistics_match_the_tensor_path() -> None:
    """One process: the folder-style stream gives the statistics of :func:`natural_stats` on the same images."""
    images, nat = _toy_natural()
    settings = PathSettings(metric="pearson", images_per_class=5, image_buckets=2, seed=0, batch_size=7)
    ref = natural_stats(toy_zoo(), images, nat.labels, [0, 1, 2, 3, 4], ["2"], settings, progress=False)
    groups, buckets = assign_roles(nat.labels, [0, 1, 2, 3, 4], 5, 2, 0)
    got = natural_stats_sharded(toy_zoo(), nat, groups, buckets, 5, ["2"], ("pearson",), "mean", 2)["pearson"]
    assert torch.equal(got.counts, ref.counts)
    torch.testing.assert_close(got.sums["2"], ref.sums["2"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("damage", ["nan", "out_of_range", "expanded", "integer"])
def test_a_cached_chunk_that_cannot_be_a_render_is_rendered_again(tmp_path: Path, damage: str) -> None:
    """A chunk file in --out with the right settings but images that no render produces (NaN, values outside [0, 1],
    an expanded view with huge sides, integers) is re-rendered, never read back (found by a review)."""
    model = toy_zoo()
    vis, _ = render_visualizations(model, [1, 3], [0], 3, tmp_path, chunk=2)
    (path,) = sorted(tmp_path.glob("*.pt"))
    data = torch.load(path, weights_only=True)
    images = data["images"]
    data["images"] = {
        "nan": images.clone().fill_(float("nan")),
        "out_of_range": images + 5,
        "expanded": torch.zeros(1).expand(2, 3, 60000, 60000),
        "integer": images.to(torch.int64),
    }[damage]
    torch.save(data, path)
    again, counts = render_visualizations(model, [1, 3], [0], 3, tmp_path, chunk=2)
    assert counts == {"rendered": 1, "loaded": 0}  # the one chunk (two classes, one seed)
    torch.testing.assert_close(again, vis, atol=1e-5, rtol=0)
