"""E's visualizations read from sweep folders (checksums verified), E trained on them, and E's cache entries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from empirical.fooling import DetectorConfig, train_detector
from empirical.fooling._train import _cached_data, sweep_visualizations
from empirical.sweep import read_sweep
from tests.sweep._common import N_PAIRS

#: A tiny E: 28 px like the sweep's images, a few hundred natural images, one short epoch.
TINY = DetectorConfig(size=28, width=4, n_natural_train=256, n_natural_test=64, epochs=1, batch=64)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("FVTRUST_CACHE", str(root))
    return root


@pytest.fixture(scope="module")
def model(weights: Path) -> torch.nn.Module:
    from empirical.models import load_model

    return load_model("fashion_cnn", weights=str(weights))


def test_sweep_images_and_their_warped_frames_are_es_visualizations(reference: Path) -> None:
    images, entries = read_sweep(reference)
    data = sweep_visualizations(reference, 28, "fashion_cnn")
    assert data["vis"].shape == (3 * N_PAIRS, 1, 28, 28)
    assert torch.equal(data["vis"][:N_PAIRS], images)  # the images themselves (28 px: no resize), manifest order
    assert not torch.equal(data["vis"][N_PAIRS : 2 * N_PAIRS], images)  # warped frames differ from them
    assert float(data["vis"].min()) >= 0 and float(data["vis"].max()) <= 1
    # one render group per (unit, seed) pair, shared by its image and its two frames; steps from the manifest
    assert data["vis_groups"].tolist() == list(range(N_PAIRS)) * 3
    assert set(data["vis_steps"].tolist()) == {3}
    plain = sweep_visualizations([reference], 14, warped=False)
    assert plain["vis"].shape == (N_PAIRS, 1, 14, 14)
    assert torch.equal(plain["sweeps_sha256"], data["sweeps_sha256"])  # the same folder, the same digest
    two = sweep_visualizations([reference, reference], 28, warped=False)
    assert two["vis_groups"].tolist() == list(range(2 * N_PAIRS))
    assert not torch.equal(two["sweeps_sha256"], data["sweeps_sha256"])


def test_bad_folders_are_refused_by_name(reference: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="holds visualizations of fashion_cnn, not mobilenet_v2"):
        sweep_visualizations(reference, 28, "mobilenet_v2")
    with pytest.raises(ValueError, match="is not a sweep folder"):
        sweep_visualizations(tmp_path / "nothing", 28)
    with pytest.raises(ValueError, match="at least one sweep folder"):
        sweep_visualizations([], 28)
    damaged = shutil.copytree(reference, tmp_path / "damaged")
    victim = damaged / json.loads((damaged / "manifest.json").read_text())["units"][5]["file"]
    data = bytearray(victim.read_bytes())
    data[-50] ^= 1
    victim.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{victim.name}: SHA-256 differs"):
        sweep_visualizations([reference, damaged], 28)


def test_e_trains_on_sweep_folders_and_its_weights_are_cached_per_folder_set(
    reference: Path, model: torch.nn.Module, cache: Path
) -> None:
    det, report = train_detector(model, "fashion_cnn", TINY, progress=False, visualizations_from=reference)
    assert report.n_visualization_train + report.n_visualization_test == 3 * N_PAIRS
    assert report.n_visualization_test % 3 == 0 and report.n_visualization_test > 0  # whole pairs held out
    assert report.n_natural_train == 256 and report.n_natural_test == 64
    assert not report.cached and report.by_step.keys() == {"3"}
    manifest = json.loads((cache / "manifest.json").read_text())["entries"]
    keys = [k for k in manifest if k.endswith("_detector.pt")]
    assert len(keys) == 1 and "_sweeps" in keys[0]
    again, report2 = train_detector(model, "fashion_cnn", TINY, progress=False, visualizations_from=[reference])
    assert report2.cached and report2.natural_accuracy == report.natural_accuracy
    assert all(torch.equal(a, b) for a, b in zip(det.state_dict().values(), again.state_dict().values(), strict=True))
    _, report3 = train_detector(model, "fashion_cnn", TINY, progress=False, visualizations_from=[reference] * 2)
    assert not report3.cached  # other visualizations: other weights
    assert report3.n_visualization_train + report3.n_visualization_test == 6 * N_PAIRS


def test_cache_entries_are_checked_and_files_of_earlier_versions_adopted(cache: Path) -> None:
    calls: list[int] = []

    def build() -> dict[str, torch.Tensor]:
        calls.append(1)
        return {"x": torch.arange(3)}

    key = "fooling/test_data.pt"
    assert _cached_data(key, build)["x"].tolist() == [0, 1, 2] and len(calls) == 1
    assert _cached_data(key, build)["x"].tolist() == [0, 1, 2] and len(calls) == 1  # verified, not rebuilt
    path = cache / "fooling" / "test_data.pt"
    torch.save({"x": torch.arange(5)}, path)  # changed behind the cache's back: rebuilt with a warning
    with pytest.warns(UserWarning, match="does not match its sha256"):
        assert _cached_data(key, build)["x"].tolist() == [0, 1, 2]
    assert len(calls) == 2
    legacy = cache / "fooling" / "legacy_data.pt"  # written by an earlier version: no checksum yet, adopted
    torch.save({"x": torch.arange(7)}, legacy)
    assert _cached_data("fooling/legacy_data.pt", build)["x"].tolist() == list(range(7)) and len(calls) == 2
    assert not list((cache / "fooling").glob("*.tmp"))


def _retarget(folder: Path, mutate_image=None, mutate_manifest=None, raw: bytes | None = None) -> Path:
    """The folder with its first pair file replaced (checksum updated, so only the content is wrong) or its
    manifest changed."""
    import hashlib

    doc = json.loads((folder / "manifest.json").read_text())
    first = folder / doc["units"][0]["file"]
    if raw is not None or mutate_image is not None:
        if raw is None:
            record = torch.load(first, weights_only=True)
            record["image"] = mutate_image(record["image"])
            torch.save(record, first)
        else:
            first.write_bytes(raw)
        doc["units"][0]["sha256"] = hashlib.sha256(first.read_bytes()).hexdigest()
    if mutate_manifest is not None:
        mutate_manifest(doc)
    (folder / "manifest.json").write_text(json.dumps(doc))
    return folder


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("nan", "finite and in \\[0, 1\\]"),
        ("out_of_range", "finite and in \\[0, 1\\]"),
        ("huge", "allowed: 1 or 3 channels"),
        ("integer", "no floating"),
        ("garbage", "readable without running code"),
        ("no_seed", "not a sweep manifest"),
        ("bad_unit", "not a sweep manifest"),
    ],
)
def test_tampered_sweep_contents_are_refused_before_any_work(reference: Path, tmp_path: Path, case, says) -> None:
    folder = shutil.copytree(reference, tmp_path / case)
    if case == "nan":
        _retarget(folder, lambda im: im.fill_(float("nan")))
    elif case == "out_of_range":
        _retarget(folder, lambda im: im + 5)
    elif case == "huge":
        _retarget(folder, lambda im: torch.zeros(1).expand(3, 60000, 60000))  # 4 bytes of storage, 43 GB as floats
    elif case == "integer":
        _retarget(folder, lambda im: im.to(torch.int64))
    elif case == "garbage":
        _retarget(folder, raw=b"not a torch file")
    elif case == "no_seed":
        _retarget(folder, mutate_manifest=lambda d: d["units"][0].pop("seed"))
    elif case == "bad_unit":
        _retarget(folder, mutate_manifest=lambda d: d["units"][0].update(unit="abc"))
    with pytest.raises(ValueError, match=says) as err:
        read_sweep(folder)
    assert "\n" not in str(err.value)


def test_sweep_folders_for_e_need_sane_settings_and_two_pairs(reference: Path, tmp_path: Path) -> None:
    from empirical.fooling._run import check_sweep_folders

    assert check_sweep_folders(reference, "fashion_cnn")
    for steps in (float("inf"), -5, 0, "3", 2.5):
        folder = shutil.copytree(reference, tmp_path / f"steps_{steps}")
        _retarget(folder, mutate_manifest=lambda d, s=steps: d["config"].update(steps=s))
        text = (folder / "manifest.json").read_text().replace("Infinity", "1e999")
        (folder / "manifest.json").write_text(text)
        with pytest.raises(ValueError, match="not a finished sweep folder"):
            check_sweep_folders(folder, "fashion_cnn")
    one = shutil.copytree(reference, tmp_path / "one")
    _retarget(one, mutate_manifest=lambda d: d.update(units=d["units"][:1]))
    with pytest.raises(ValueError, match="E needs at least 2"):
        check_sweep_folders(one, "fashion_cnn")
    deep = shutil.copytree(reference, tmp_path / "deep")
    (deep / "manifest.json").write_text('{"config": ' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(ValueError, match="not a finished sweep folder"):
        check_sweep_folders(deep, "fashion_cnn")


def test_sweep_folders_are_checked_without_reading_the_images_too(reference: Path, tmp_path: Path) -> None:
    """verify=False (the path run_circuit takes) reads only the manifest: a units field that is not a list of
    entries is refused, and a file listed twice counts once."""
    from empirical.fooling._run import check_sweep_folders

    bad = shutil.copytree(reference, tmp_path / "bad")
    _retarget(bad, mutate_manifest=lambda d: d.update(units=5))
    with pytest.raises(ValueError, match="not a finished sweep folder"):
        check_sweep_folders(bad, "fashion_cnn", verify=False)
    twice = shutil.copytree(reference, tmp_path / "twice")
    _retarget(twice, mutate_manifest=lambda d: d.update(units=[d["units"][0], d["units"][0]]))
    with pytest.raises(ValueError, match="E needs at least 2"):
        check_sweep_folders(twice, "fashion_cnn", verify=False)
