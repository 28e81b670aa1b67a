"""``fvtrust evaluate``: accuracy with Wilson intervals on real photos, inputs checked first, ranks combined."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from empirical.data import compare_models, evaluate_model, image_folder, summarize, wilson_interval
from fvtrust.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FVTRUST_DATA", ROOT / ".." / "shared" / "data"))
needs_data = pytest.mark.skipif(
    not (DATA / "imagenet-1k").is_dir(), reason=f"real ImageNet photos not found at {DATA} (set FVTRUST_DATA)"
)


def _sample(tmp: Path, wnids: list[str], source: str = "imagenet-1k") -> Path:
    """A small ImageNet folder of symbolic links to real photos (nothing copied)."""
    root = tmp / "imgs"
    for w in wnids:
        (root / w).mkdir(parents=True)
        for f in sorted((DATA / source / w).iterdir()):
            (root / w / f.name).symlink_to(f.resolve())
    return root


def test_wilson_known_values():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and abs(hi - 0.2775) < 1e-4
    lo, hi = wilson_interval(1188, 1500)  # 79.2%
    assert abs(lo - 0.7706) < 1e-3 and abs(hi - 0.8120) < 1e-3
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_wilson_contains_the_estimate(k, n):
    k = min(k, n)
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n + 1e-12 and k / n - 1e-12 <= hi <= 1.0 and hi - lo > 0


class _Shift(torch.nn.Module):
    """Logits of ``base`` plus a constant: the same ranking, different numbers."""

    def __init__(self, base: torch.nn.Module, c: float) -> None:
        super().__init__()
        self.base, self.c = base, c

    def forward(self, x):
        return self.base(x) + self.c


def _odd(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1) > 0.45


@needs_data
def test_counts_match_a_direct_computation(tmp_path):
    from empirical.data import imagenet_wnids
    from empirical.models import load_model

    w = imagenet_wnids()
    root = _sample(tmp_path, [w[0], w[1], w[2], w[985]])  # goldfish (w[1]) has 6 photos
    data = image_folder(root)
    model = load_model("mobilenet_v2")
    rec = evaluate_model(model, data, batch_size=3)
    x = torch.stack([data.dataset()[i][0] for i in range(len(data))])
    with torch.no_grad():
        top = model(x).topk(5, 1).indices
    y = data.labels_for(model)
    assert rec["n_images"] == len(data) == 9 and rec["n_labelled"] == 9
    assert rec["top1_correct"] == int((top[:, 0] == y).sum())
    assert rec["top5_correct"] == int((top == y[:, None]).any(1).sum())
    lo, hi = rec["top1_interval"]
    assert lo <= rec["top1"] <= hi
    c = summarize(compare_models({"a": model, "b": _Shift(model, 1.5)}, data, batch_size=4))
    assert c["agreement_b"] == 1.0 and c["identical_logits_b"] == 0
    assert abs(c["max_abs_logit_change_b"] - 1.5) < 1e-4
    c = compare_models({"a": model, "b": _Shift(model, 0.0)}, data, batch_size=4, probes={"odd": _odd})
    s = summarize(c)
    assert s["identical_logits_b"] == 9 and s["max_abs_logit_change_b"] == 0.0 and s["top1_a"] == s["top1_b"]
    part = summarize(c, [0, 1, 2])
    assert part["n_images"] == 3 and part["top1_a_correct"] == int((top[:3, 0] == y[:3]).sum())
    assert s["odd"] == int(sum(float(x[i].mean()) > 0.45 for i in range(9)))


@needs_data
def test_cli_json_and_text(tmp_path, capsys):
    from empirical.data import imagenet_wnids

    root = _sample(tmp_path, [imagenet_wnids()[1]])
    out = tmp_path / "rec.json"
    args = ["evaluate", "--model", "mobilenet_v2", "--imagenet-dir", str(root), "--no-progress"]
    assert main([*args, "--json", "--out", str(out), "--batch-size", "4"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec == json.loads(out.read_text())
    assert rec["n_images"] == 6 and 0 <= rec["top1"] <= rec["top5"] <= 1
    assert rec["interval"].startswith("Wilson") and "centre crop 224" in rec["preprocessing"]
    prov = rec["provenance"]
    assert prov["data"]["n_files"] == 6 and len(prov["data"]["file_list_sha256"]) == 64
    assert set(prov) >= {"commit", "version", "seeds", "config", "weights_sha256", "torch", "device", "wall_s", "cpu_s"}
    assert main(args) == 0
    assert "Wilson interval" in capsys.readouterr().out


@needs_data
def test_photos_outside_the_classes_are_refused(tmp_path, capsys):
    root = _sample(tmp_path, ["n00007846"], source="imagenet-other")
    assert main(["evaluate", "--model", "mobilenet_v2", "--imagenet-dir", str(root)]) == 2
    assert "no image of a class among the model's outputs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--batch-size", "0"], "--batch-size"),
        (["--workers", "-1"], "--workers"),
        (["--model", "nope"], "--model"),
        (["--device", "warp9"], "--device"),
        (["--weights", "/nonexistent.pt"], "--weights"),
    ],
)
def test_cli_rejects_bad_arguments(tmp_path, capsys, extra, match):
    (tmp_path / "0").mkdir()
    args = ["evaluate", "--model", "mobilenet_v2", "--imagenet-dir", str(tmp_path), *extra]
    assert main(args) == 2
    assert match in capsys.readouterr().err


def test_cli_names_a_bad_file_before_loading_a_model(tmp_path, capsys):
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    assert main(["evaluate", "--model", "mobilenet_v2", "--imagenet-dir", str(tmp_path)]) == 2
    assert "broken.jpg" in capsys.readouterr().err
    assert main(["evaluate", "--model", "mobilenet_v2", "--imagenet-dir", str(tmp_path / "missing")]) == 2


@needs_data
def test_two_processes_give_the_numbers_of_one(tmp_path):
    """Issue 27: an evaluation under torchrun (2 ranks, gloo) gives the counts of one process (9 real photos)."""
    from empirical.data import imagenet_wnids

    w = imagenet_wnids()
    root = _sample(tmp_path, [w[1], w[7], w[30]])
    recs = []
    for n in (1, 2):
        out = tmp_path / f"rec{n}.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n)]
        cmd += ["-m", "fvtrust.cli", "evaluate", "--model", "mobilenet_v2", "--imagenet-dir", str(root)]
        cmd += ["--out", str(out), "--no-progress", "--batch-size", "2"]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"torchrun with {n} process(es) failed:\n{run.stderr[-4000:]}"
        recs.append(json.loads(out.read_text()))
    keys = ("n_images", "n_labelled", "top1_correct", "top5_correct", "top1", "top5")
    assert {k: recs[0][k] for k in keys} == {k: recs[1][k] for k in keys}
    assert recs[1]["provenance"]["config"]["processes"] == 2


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"model_name": "resnet9"}, "--model 'resnet9' is not a zoo model"),
        ({"batch_size": 0}, "--batch-size must be in 1..4096"),
        ({"batch_size": True}, "--batch-size must be in 1..4096"),
        ({"workers": 65}, "--workers must be in 0..64"),
        ({"weights": "/nonexistent/w.pt"}, "--weights '/nonexistent/w.pt' is not a readable file"),
        ({"imagenet_dir": "/nonexistent/dir"}, "--imagenet-dir '/nonexistent/dir' is not a directory"),
        ({"device": "tpu"}, "--device"),
    ],
)
def test_evaluate_folder_checks_its_settings_before_any_work(
    changes: dict, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library call refuses what the command refuses, with the same message, before reading the folder."""
    import empirical.data._evaluate as ev

    def no_folder(*_a: object, **_k: object) -> None:
        raise AssertionError("the folder was read before the settings were checked")

    monkeypatch.setattr("empirical.data._imagenet.image_folder", no_folder)
    settings = {"model_name": "mobilenet_v2", "imagenet_dir": tmp_path, **changes}
    with pytest.raises(ValueError) as info:
        ev.evaluate_folder(**settings)
    assert words in str(info.value)
