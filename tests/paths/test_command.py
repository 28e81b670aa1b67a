"""``fvtrust paths``: every bad input is refused before any work (exit 2, one line, nothing written); on real photos
(``../shared/data``) a small run writes the documented files and the command equals the library call."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from empirical.paths import PathsConfig, check_config, run_paths
from fvtrust.cli import main

DATA = Path(os.environ.get("FVTRUST_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
IMAGENET = DATA / "imagenet-1k"
needs_data = pytest.mark.skipif(
    not IMAGENET.is_dir(), reason=f"real ImageNet photos not found at {IMAGENET} (set FVTRUST_DATA)"
)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--classes", "1"], "--classes must be an integer in 2..100000"),
        (["--seeds", "0"], "--seeds must be an integer in 1..1000"),
        (["--steps", "-1"], "--steps must be an integer in 0..100000"),
        (["--min-photos", "2"], "--min-photos must be an integer in 3..1000000"),
        (["--bootstrap", "-5"], "--bootstrap must be an integer"),
        (["--image-buckets", "0"], "--image-buckets must be an integer"),
        (["--batch-size", "0"], "--batch-size must be an integer"),
        (["--metrics", "spearman,kendall"], "--metrics: unknown 'kendall'"),
        (["--metrics", "cosine,cosine"], "--metrics: give distinct metrics"),
        (["--pooling", "max"], "--pooling 'max'"),
        (["--device", "cuda:0"], "--device"),
        (["--weights", "/nonexistent/w.pth"], "--weights /nonexistent/w.pth: not a readable file"),
        (["--model", "alexnet"], "--model 'alexnet'"),
    ],
)
def test_bad_arguments_exit_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    if "cuda:0" in flags:
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA is available here: --device cuda:0 is valid")
    out = tmp_path / "out"
    base = ["paths", "--model", "mobilenet_v2", "--imagenet-dir", str(tmp_path), "--out", str(out)]
    assert main(base + flags) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_folder_and_output_checks(tmp_path: Path) -> None:
    cfg = PathsConfig(model="mobilenet_v2", out=tmp_path / "out", imagenet_dir=tmp_path)
    check_config(cfg)  # valid
    with pytest.raises(ValueError, match="--imagenet-dir is required for mobilenet_v2"):
        check_config(PathsConfig(model="mobilenet_v2", out=tmp_path / "out"))
    with pytest.raises(ValueError, match="not a readable directory"):
        check_config(PathsConfig(model="mobilenet_v2", out=tmp_path / "out", imagenet_dir=tmp_path / "none"))
    with pytest.raises(ValueError, match="not an ImageNet model"):
        check_config(PathsConfig(model="fashion_cnn", out=tmp_path / "out", imagenet_dir=tmp_path))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="is not a directory"):
        check_config(PathsConfig(model="fashion_cnn", out=blocker / "sub"))


def test_unreadable_photo_is_named_before_the_model_loads(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "photos" / "n01440764"
    folder.mkdir(parents=True)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    assert main(["paths", "--model", "mobilenet_v2", "--imagenet-dir", str(tmp_path / "photos"),
                 "--out", str(tmp_path / "out")]) == 2  # fmt: skip
    assert "broken.jpg" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@needs_data
@pytest.mark.slow
def test_small_real_run_and_library_equals_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    flags = ["--classes", "3", "--min-photos", "6", "--seeds", "2", "--steps", "3", "--bootstrap", "200",
             "--metrics", "spearman,cosine", "--seed", "1", "--no-progress"]  # fmt: skip
    assert main(["paths", "--model", "mobilenet_v2", "--imagenet-dir", str(IMAGENET), "--out", str(out), *flags]) == 0
    assert "spearman: first 13 layers" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "paths.csv", "paths.json", "paths.png", "visualizations", "visualizations.png"
    ]  # fmt: skip
    res = json.loads((out / "paths.json").read_text())
    assert res["schema"] == "fvtrust.paths/2" and list(res["metrics"]) == ["spearman", "cosine"]
    nat = res["natural_images"]
    assert nat["n_eligible_classes"] == 100 and nat["n_classes"] == 3 and nat["photos_per_class"]["min"] == 6
    assert nat["used_per_role"] == {"reference": 6, "heldout": 6, "control": 6}
    assert len(res["layers"]) == 20 and res["n_early_layers"] == 13
    assert res["provenance"]["data"]["n_files"] == 1500 and res["provenance"]["seeds"] == [1, 2]
    assert res["visualizations"]["chunks_rendered_this_run"] == 2
    for block in ("score", "control_same_class", "control_other_class"):
        assert set(res["metrics"]["spearman"][block]) == set(res["layers"])
    # the library call on the same folder reuses the rendered chunks and gives the same numbers
    config = PathsConfig(
        model="mobilenet_v2", out=out, imagenet_dir=IMAGENET, classes=3, min_photos=6, seeds=2, steps=3,
        bootstrap=200, metrics=("spearman", "cosine"), seed=1,
    )  # fmt: skip
    again = run_paths(config).result
    assert again["visualizations"]["chunks_loaded_from_cache"] == 2
    assert again["metrics"] == res["metrics"] and again["classes"] == res["classes"]
