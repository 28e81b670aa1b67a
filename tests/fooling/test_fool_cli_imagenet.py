"""``fvtrust fool``'s ImageNet options (``--imagenet-dir``, ``--extra-dir``, ``--units``, ``--unit-seed``,
``--recipe``, ``--seed N ...``, ``--target photos``) and ``--e-visualizations-from DIR ...`` (E's visualizations
from ``fvtrust sweep`` folders), checked at the command line without running an experiment: a tripwire on the run
functions proves that bad input stops before any work, and stand-ins for them capture what valid input passes on.
Image folders are a few small JPEGs written here; the sweep is a 3-step sweep of a random-weight Fashion-MNIST CNN.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

import empirical.fooling as fooling
import empirical.fooling._config as fool_config
from empirical.fooling import PhotoSplits
from fvtrust.cli import main
from tests.sweep._common import N_PAIRS, sweep_args

DATA = Path(os.environ.get("FVTRUST_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
REAL_IMAGENET = DATA / "imagenet-1k"  # the shared photos beside the project (set FVTRUST_DATA to move them)
WNIDS = ("n01440764", "n01443537")
EXTRA_WNID = "n00007846"  # a WordNet id outside the 1,000 classes (a class of imagenet-other)


def _jpeg(path: Path, seed: int) -> None:
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path, "JPEG")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``images``: two WordNet-id classes of 4 JPEGs each; ``extra``: one class of 5 JPEGs outside the 1,000;
    and broken folders: ``empty`` (no class folders), ``no_images`` (a class folder without images), ``junk`` (a
    class folder with one junk JPEG among good ones), ``file`` (a regular file)."""
    root = tmp_path_factory.mktemp("photos")
    for k, wnid in enumerate(WNIDS):
        for i in range(4):
            _jpeg(root / "images" / wnid / f"{wnid}_{i}.JPEG", 10 * k + i)
    for i in range(5):
        _jpeg(root / "extra" / EXTRA_WNID / f"{EXTRA_WNID}_{i}.JPEG", 100 + i)
    (root / "empty").mkdir()
    (root / "no_images" / WNIDS[0]).mkdir(parents=True)
    (root / "no_images" / WNIDS[0] / "notes.txt").write_text("no photos here\n")
    for i in range(2):
        _jpeg(root / "junk" / WNIDS[0] / f"{WNIDS[0]}_{i}.JPEG", 200 + i)
    (root / "junk" / WNIDS[0] / "broken.JPEG").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    (root / "file").write_text("a regular file\n")
    return {"images": root / "images", "extra": root / "extra", **{k: root / k for k in ("empty", "no_images",
            "junk", "file")}, "missing": root / "missing"}  # fmt: skip


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixed random-weight Fashion-MNIST CNN saved as a weights file (as in tests/sweep/conftest.py)."""
    from empirical.models._fashion_cnn import fashion_net

    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("weights") / "fashion_random.pt"
    torch.save(fashion_net().state_dict(), path)
    return path


@pytest.fixture(scope="module")
def sweep(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 3-step sweep of 6 units x 2 seeds of the random-weight CNN's conv3."""
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    assert main(sweep_args(weights, out)) == 0
    return out


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FVTRUST_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tripwire(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any call of a run function fails the test: the command started work despite bad input."""

    def fail(*_a: Any, **_k: Any) -> None:
        raise AssertionError("work started despite bad input")

    for name in ("run_circuit", "run_silent"):
        monkeypatch.setattr(fool_config, name, fail)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stand-ins for the run functions: record the call (``function``, ``model``, ``out``, keywords), return an
    empty report."""
    calls: dict[str, Any] = {}

    def stand_in(name: str) -> Any:
        def run(model_name: str, out: Path, **kw: Any) -> dict[str, Any]:
            assert not calls, "called twice"
            calls.update(function=name, model=model_name, out=out, **kw)
            return {}

        return run

    for name in ("run_circuit", "run_silent"):
        monkeypatch.setattr(fool_config, name, stand_in(name))
    return calls


def _fool(argv: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit status and stderr of ``fvtrust fool ARGV --out OUT --no-progress`` (argparse's exit as a status)."""
    try:
        status = main(["fool", *argv, "--out", str(out), "--no-progress"])
    except SystemExit as exc:
        status = exc.code  # type: ignore[assignment]
    return status, capsys.readouterr().err


def _assert_refused(status: int, err: str, out: Path, *expected: str) -> None:
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, (text, err)
    assert not out.exists()


# ---------------------------------------------------------------------------------------------------------------
# ImageNet options: bad values
# ---------------------------------------------------------------------------------------------------------------
MNV2 = ["--model", "mobilenet_v2"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--method", "circuit", "--units", "abc"], "--units: invalid int value: 'abc'"),
        (["--method", "circuit", "--units", "2.5"], "--units: invalid int value"),
        (["--method", "circuit", "--units", "1"], "--units must be in 2..64, got 1"),
        (["--method", "circuit", "--units", "65"], "--units must be in 2..64, got 65"),
        (["--method", "silent", "--units", "-3"], "--units must be in 2..64, got -3"),
        (["--method", "circuit", "--unit-seed", "-1"], "--unit-seed must be in 0..2147483647, got -1"),
        (["--method", "circuit", "--unit-seed", "2147483648"], "--unit-seed must be in 0..2147483647"),
        (["--method", "circuit", "--unit-seed", "x"], "--unit-seed: invalid int value"),
        (["--method", "silent", "--recipe", "nope"], "--recipe: invalid choice: 'nope'"),
        (["--method", "circuit", "--recipe", "paper"], "--recipe paper applies to --method silent only"),
        (["--method", "circuit", "--seed", "-1"], "--seed: distinct integers"),
        (["--method", "circuit", "--seed", "3", "4", "3"], "--seed: distinct integers"),
        (["--method", "circuit", "--seed", "2147483648"], "--seed: distinct integers"),
        (["--method", "circuit", "--seed"], "--seed: expected at least one argument"),
        (["--method", "circuit", "--target", "photos"], "it needs --extra-dir and --method circuit"),
        (["--method", "circuit", "--target", "photos", "--imagenet-dir", "{images}"], "it needs --extra-dir"),
        (
            ["--method", "silent", "--target", "photos", "--imagenet-dir", "{images}", "--extra-dir", "{extra}"],
            "supports --target permute only",
        ),
        (["--method", "circuit", "--extra-dir", "{extra}"], "--extra-dir needs --imagenet-dir"),
        (["--method", "circuit", "--imagenet-dir", "{file}"], "is not a directory"),
        (["--method", "circuit", "--imagenet-dir", "{missing}"], "is not a directory"),
        (["--method", "circuit", "--imagenet-dir", "{images}", "--extra-dir", "{missing}"], "is not a directory"),
    ],
)
def test_bad_imagenet_options_exit_2_before_any_work(
    argv: list[str], message: str, folders: dict[str, Path], tmp_path: Path, tripwire: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "out"
    status, err = _fool([*MNV2, *(a.format(**folders) for a in argv)], out, capsys)
    _assert_refused(status, err, out, message)


def test_imagenet_dir_is_refused_for_fashion_cnn(
    folders: dict[str, Path], tmp_path: Path, tripwire: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--model", "fashion_cnn", "--method", "circuit", "--imagenet-dir", str(folders["images"])]
    status, err = _fool(argv, tmp_path / "out", capsys)
    _assert_refused(status, err, tmp_path / "out", "--imagenet-dir applies to ImageNet models, not fashion_cnn")


@pytest.mark.parametrize(
    "flag, kind, message",
    [
        ("--imagenet-dir", "empty", "has no class sub-folders"),
        ("--imagenet-dir", "no_images", "has no image files"),
        ("--imagenet-dir", "junk", "is not a readable image"),
        ("--extra-dir", "empty", "has no class sub-folders"),
        ("--extra-dir", "no_images", "has no image files"),
        ("--extra-dir", "junk", "is not a readable image"),
    ],
)
@pytest.mark.parametrize("method", ["circuit", "silent"])
def test_unusable_image_folders_exit_2_naming_them_before_any_work(
    flag: str, kind: str, message: str, method: str, folders: dict[str, Path], tmp_path: Path, tripwire: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The folder check reads every file's header (``photo_splits``): an empty folder, a class folder without
    photos or one junk JPEG among good ones is one line naming the folder or the file, and no run starts."""
    dirs = {"--imagenet-dir": folders["images"], "--extra-dir": folders["extra"], flag: folders[kind]}
    argv = [*MNV2, "--method", method, *(x for f, d in dirs.items() for x in (f, str(d)))]
    status, err = _fool(argv, tmp_path / "out", capsys)
    named = folders[kind] / WNIDS[0] / "broken.JPEG" if kind == "junk" else folders[kind]
    _assert_refused(status, err, tmp_path / "out", message, str(named.resolve()))


# ---------------------------------------------------------------------------------------------------------------
# ImageNet options: what valid values pass on
# ---------------------------------------------------------------------------------------------------------------
def _photos(calls: dict[str, Any]) -> PhotoSplits:
    photos = calls["photos"]
    assert isinstance(photos, PhotoSplits)
    return photos


def test_circuit_on_photo_folders_with_photo_targets_gets_every_option(
    folders: dict[str, Path], tmp_path: Path, captured: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = [
        *MNV2, "--method", "circuit", "--imagenet-dir", str(folders["images"]), "--extra-dir", str(folders["extra"]),
        "--target", "photos", "--units", "3", "--unit-seed", "5", "--seed", "7", "8", "9", "--quick",
        "--c", "50", "--k", "300",
    ]  # fmt: skip
    status, err = _fool(argv, out, capsys)
    assert status == 0, err
    assert captured["function"] == "run_circuit" and captured["model"] == "mobilenet_v2" and captured["out"] == out
    photos = _photos(captured)
    assert photos.source.root == folders["images"].resolve() and len(photos.source) == 8
    assert len(photos.calibration) == len(photos.held_out) == 4  # every second photo of each class
    assert photos.extra is not None and photos.extra.root == folders["extra"].resolve() and len(photos.extra) == 5
    # --target photos: 3 template photos drawn from --extra-dir with --unit-seed (by the library), the rest permuted
    assert captured["target"] == "photos" and "target_files" not in captured
    expected = sorted(random.Random(5).sample(photos.extra.files, 3))
    assert photos.draw_extra(captured["n_units"], captured["unit_seed"]) == expected
    assert captured["n_units"] == 3 and captured["unit_seed"] == 5 and captured["seed"] == [7, 8, 9]
    assert captured["c"] == 50.0 and captured["k"] == 300.0 and captured["quick"] is True
    assert captured["device"] == "cpu" and captured["progress"] is False
    assert captured["weights"] is None and captured["visualizations_from"] is None
    assert captured["detector_rule"] is None and captured["detector_fpr"] is None  # the preset's


def test_detector_rule_reaches_the_circuit(
    folders: dict[str, Path], tmp_path: Path, captured: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*MNV2, "--method", "circuit", "--imagenet-dir", str(folders["images"]), "--detector-rule", "quantile",
            "--detector-fpr", "0.01"]  # fmt: skip
    status, err = _fool(argv, tmp_path / "out", capsys)
    assert status == 0, err
    assert captured["detector_rule"] == "quantile" and captured["detector_fpr"] == 0.01


@pytest.mark.parametrize(
    "extra,words",
    [
        (["--method", "silent", "--detector-rule", "quantile"], "--method circuit only"),
        (["--method", "circuit", "--detector-fpr", "0.01"], "needs --detector-rule quantile"),
        (["--method", "circuit", "--detector-rule", "quantile", "--detector-fpr", "0.5"], "in (0, 0.5)"),
        (["--method", "circuit", "--detector-rule", "quantile", "--detector-fpr", "nan"], "in (0, 0.5)"),
    ],
)
def test_bad_detector_rule_options_exit_2_before_work(
    extra: list[str], words: str, tmp_path: Path, tripwire: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    status, err = _fool([*MNV2, *extra], out, capsys)
    assert status == 2 and words in err and not out.exists(), err


@pytest.mark.parametrize("recipe", [None, "project", "paper"])
def test_silent_units_on_a_photo_folder_get_the_recipe_units_and_seed(
    recipe: str | None, folders: dict[str, Path], tmp_path: Path, captured: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    argv = [*MNV2, "--method", "silent", "--imagenet-dir", str(folders["images"]), "--units", "64", "--seed", "4"]
    argv += [] if recipe is None else ["--recipe", recipe]
    status, err = _fool(argv, tmp_path / "out", capsys)
    assert status == 0, err
    assert captured["function"] == "run_silent" and captured["model"] == "mobilenet_v2"
    assert captured["recipe"] == (recipe or "project")
    assert captured["n_units"] == 64 and captured["unit_seed"] is None and captured["seed"] == 4  # one seed: an int
    photos = _photos(captured)
    assert photos.source.root == folders["images"].resolve() and photos.extra is None
    # the silent settings the command leaves to the preset
    assert {k: captured[k] for k in ("layer", "alpha", "pooled", "gate", "trigger", "detector")} == dict.fromkeys(
        ("layer", "alpha", "pooled", "gate", "trigger", "detector")
    )


def test_without_photo_folders_the_run_gets_none(
    tmp_path: Path, captured: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _fool([*MNV2, "--method", "circuit"], tmp_path / "out", capsys)
    assert status == 0, err
    assert captured["photos"] is None and captured["target"] == "permute" and "target_files" not in captured
    assert captured["n_units"] is None and captured["unit_seed"] is None and captured["seed"] == 0


@pytest.mark.skipif(
    not all((REAL_IMAGENET / w).is_dir() for w in WNIDS),
    reason=f"real ImageNet photos ({REAL_IMAGENET}/{{{','.join(WNIDS)}}}) are not on this machine",
)
def test_two_real_imagenet_classes_reach_the_run_split_by_photos_per_class(
    tmp_path: Path, captured: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two class folders of the real ``imagenet-1k`` (linked): n01440764 has one photo, n01443537 six, so the
    single-photo class is the calibration split and the other is held out."""
    linked = tmp_path / "imagenet"
    linked.mkdir()
    for w in WNIDS:
        (linked / w).symlink_to(REAL_IMAGENET / w, target_is_directory=True)
    n = {w: sum(1 for f in (REAL_IMAGENET / w).iterdir() if f.is_file()) for w in WNIDS}
    status, err = _fool([*MNV2, "--method", "circuit", "--imagenet-dir", str(linked)], tmp_path / "out", capsys)
    assert status == 0, err
    photos = _photos(captured)
    assert len(photos.source) == sum(n.values())
    assert sorted(set(photos.source.wnids)) == list(WNIDS)
    if n[WNIDS[0]] == 1 and n[WNIDS[1]] > 1:
        assert photos.rule.startswith("classes with a single photo")
        assert len(photos.calibration) == 1 and len(photos.held_out) == n[WNIDS[1]]


# ---------------------------------------------------------------------------------------------------------------
# --e-visualizations-from
# ---------------------------------------------------------------------------------------------------------------
def _fashion(weights: Path, *argv: str) -> list[str]:
    return ["--model", "fashion_cnn", "--weights", str(weights), *argv]


def test_sweep_folders_are_checked_and_passed_to_the_circuit(
    sweep: Path, weights: Path, tmp_path: Path, captured: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _fashion(weights, "--method", "circuit", "--e-visualizations-from", str(sweep), str(sweep))
    status, err = _fool(argv, tmp_path / "out", capsys)
    assert status == 0, err
    assert captured["function"] == "run_circuit" and captured["visualizations_from"] == [sweep, sweep]
    assert captured["weights"] == str(weights)


def test_sweep_folders_are_passed_to_silent_units_that_use_e(
    sweep: Path, weights: Path, tmp_path: Path, captured: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _fashion(weights, "--method", "silent", "--detector", "on", "--trigger", "on")
    status, err = _fool([*argv, "--e-visualizations-from", str(sweep)], tmp_path / "out", capsys)
    assert status == 0, err
    assert captured["function"] == "run_silent" and captured["visualizations_from"] == [sweep]
    assert captured["detector"] is True and captured["trigger"] is True


@pytest.mark.parametrize(
    "extra",
    [[], ["--detector", "off"], ["--recipe", "paper"], ["--gate", "on"]],
    ids=["preset-without-e", "detector-off", "paper", "gate"],
)
def test_silent_units_without_e_refuse_sweep_folders(
    extra: list[str], sweep: Path, weights: Path, tmp_path: Path, tripwire: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    argv = _fashion(weights, "--method", "silent", *extra, "--e-visualizations-from", str(sweep))
    status, err = _fool(argv, tmp_path / "out", capsys)
    _assert_refused(status, err, tmp_path / "out", "--e-visualizations-from trains E", "add --detector on")


def test_a_sweep_of_another_model_is_refused_naming_it(
    sweep: Path, tmp_path: Path, tripwire: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*MNV2, "--method", "circuit", "--e-visualizations-from", str(sweep)]
    status, err = _fool(argv, tmp_path / "out", capsys)
    expected = f"{str(sweep)!r} holds visualizations of fashion_cnn, not mobilenet_v2"
    _assert_refused(status, err, tmp_path / "out", expected)


def _damaged(sweep: Path, where: Path) -> tuple[Path, Path]:
    """A copy of ``sweep`` with one bit of one pair file flipped: (folder, the file)."""
    copy = shutil.copytree(sweep, where)
    victim = copy / json.loads((copy / "manifest.json").read_text())["units"][3]["file"]
    data = bytearray(victim.read_bytes())
    data[-40] ^= 1
    victim.write_bytes(bytes(data))
    return copy, victim


def test_a_damaged_sweep_is_refused_naming_the_file(
    sweep: Path, weights: Path, tmp_path: Path, tripwire: None, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged, victim = _damaged(sweep, tmp_path / "damaged")
    argv = _fashion(weights, "--method", "circuit", "--e-visualizations-from", str(sweep), str(damaged))
    status, err = _fool(argv, tmp_path / "out", capsys)
    _assert_refused(status, err, tmp_path / "out", str(victim.resolve()), "SHA-256 differs")


@pytest.mark.parametrize("kind", ["missing", "file", "no manifest", "garbage manifest", "manifest without config"])
def test_folders_that_are_no_sweep_are_refused_naming_them(
    kind: str, weights: Path, tmp_path: Path, tripwire: None, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "not_a_sweep"
    if kind == "file":
        folder.write_text("x")
    elif kind != "missing":
        folder.mkdir()
        if kind == "garbage manifest":
            (folder / "manifest.json").write_bytes(b"\x00\xff{not json")
        elif kind == "manifest without config":
            (folder / "manifest.json").write_text(json.dumps({"units": []}))
    argv = _fashion(weights, "--method", "circuit", "--e-visualizations-from", str(folder))
    status, err = _fool(argv, tmp_path / "out", capsys)
    _assert_refused(status, err, tmp_path / "out", f"--e-visualizations-from {str(folder)!r}")


def test_the_sweep_folders_are_recorded_in_report_and_provenance(
    sweep: Path, weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tiny real circuit run (the quick preset shrunk: E of width 4 for one short epoch on the sweep's images
    and 256 natural images, 2 render steps, 2 units, 20 natural images): E is trained on the sweep's images
    (3 per pair), cached under the model's name and the sweep's checksums (not the weights' hash: E does not
    depend on them), and report.json records the folders with their manifests' SHA-256, also in the provenance."""
    import empirical.fooling._run as fool_run
    from empirical.fooling import preset
    from empirical.sweep import sha256_file

    small = preset("fashion_cnn", True)
    det = replace(small.detector, width=4, n_natural_train=256, n_natural_test=64, epochs=1, batch=64)
    small = replace(small, detector=det, steps=2, block=2, n_natural_eval=20)
    monkeypatch.setattr(fool_run, "preset", lambda *_a, **_k: small)
    out = tmp_path / "run"
    report = fool_run.run_circuit(
        "fashion_cnn", out, quick=True, weights=weights, visualizations_from=sweep, scores=False, progress=False
    )
    assert report["detector"]["n_visualization_train"] + report["detector"]["n_visualization_test"] == 3 * N_PAIRS
    manifest = json.loads((sweep / "manifest.json").read_text())
    record = {
        "folder": str(sweep.resolve()), "manifest_sha256": sha256_file(sweep / "manifest.json"), "layer": "conv3",
        "steps": 3, "weights": str(weights), "model_sha256": manifest["config"]["model_sha256"],
        "same_weights": True,  # the sweep rendered the very weights fooled here
    }  # fmt: skip
    cached = json.loads((tmp_path / "cache" / "manifest.json").read_text())["entries"]
    assert [k for k in cached if k.endswith("_detector.pt")][0].startswith("fooling/fashion_cnn_")
    assert [k for k in cached if "_sweeps" in k and k.endswith("_detector.pt")]
    written = json.loads((out / "report.json").read_text())
    assert written["e_visualizations_from"] == [record]
    assert written["provenance"]["config"]["e_visualizations_from"] == [record]


def test_run_silent_refuses_sweep_folders_when_e_is_unused(sweep: Path, weights: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--e-visualizations-from trains E"):
        fooling.run_silent("fashion_cnn", tmp_path / "out", weights=weights, visualizations_from=[sweep])
    assert not (tmp_path / "out").exists()


def test_check_sweep_folders_without_verification_reads_only_the_manifest(sweep: Path, tmp_path: Path) -> None:
    damaged, _ = _damaged(sweep, tmp_path / "damaged")
    assert fooling.check_sweep_folders(damaged, "fashion_cnn", verify=False)[0]["folder"] == str(damaged.resolve())
    with pytest.raises(ValueError, match="SHA-256 differs"):
        fooling.check_sweep_folders([sweep, damaged], "fashion_cnn")
    with pytest.raises(ValueError, match="at least one sweep folder"):
        fooling.check_sweep_folders([], "fashion_cnn")
