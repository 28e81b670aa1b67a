"""Issue 23: bad input is refused before any work, and the Fashion-MNIST CNN's weights go through the cache API.

- ``fvtrust train``: ``--epochs`` in 1..MAX_EPOCHS, ``--seed`` in 0..MAX_SEED, ``--out`` writable, all checked
  before training starts (training is replaced by a tripwire here);
- ``fvtrust visualize``: ``--steps``/``--size`` limits and the memory estimate, ``--device`` via
  ``resolve_device``, ``--out`` writable, all checked before the model is loaded;
- ``fvtrust models`` lists the zoo without training anything;
- the cached fashion_cnn weights are a checksummed cache entry: missing, damaged, unfitting or untracked
  weights are rebuilt with a warning (or, when nothing may be built, reported and not used);
- the paths experiment writes through fresh temporary names (no fixed ``.tmp`` name to plant a symlink at).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import warnings
from pathlib import Path

import pytest
import torch

from empirical.models import _fashion_cnn as fc
from empirical.visualize import MAX_SIZE, MAX_STEPS, check_render_limits, render_bytes
from fvtrust import cli
from fvtrust.errors import UsageError, check_int, check_output_dir, check_output_file

QUICK = 5.0  # seconds: a refusal comes before any work


class Tripwire(BaseException):
    """Raised by a stand-in for real work: a BaseException so that no command swallows it."""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("FVTRUST_CACHE", str(root))
    monkeypatch.delenv("FVTRUST_DEBUG", raising=False)
    return root


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def trip(*args: object, **kwargs: object) -> None:
        raise Tripwire("training started")

    monkeypatch.setattr(fc, "_train", trip)


def _fake_train(calls: list[int]):  # noqa: ANN202
    def train(epochs: int, seed: int, batch: int, lr: float, progress: bool):  # noqa: ANN202
        calls.append(seed)
        torch.manual_seed(seed)
        return fc.fashion_net().state_dict(), 0.5, 0.0

    return train


def _run(argv: list[str]) -> tuple[int, str, float]:
    err = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            status = cli.main(argv)
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 2
    return status, err.getvalue(), time.perf_counter() - started


# ---------------------------------------------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------------------------------------------
def test_output_checks_create_nothing_and_name_the_flag(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert check_output_file(tmp_path / "new" / "w.pt") == tmp_path / "new" / "w.pt"
    assert not (tmp_path / "new").exists()
    for check, path, words in [
        (check_output_dir, blocker, "exists and is not a folder"),
        (check_output_dir, blocker / "sub", "is not a folder"),
        (check_output_file, blocker / "sub" / "w.pt", "is not a folder"),
        (check_output_file, tmp_path, "is a folder"),
    ]:
        with pytest.raises(UsageError, match="--flag") as info:
            check(path, "--flag")
        assert words in str(info.value)
    with pytest.raises(UsageError, match=r"--n must be an integer in 1\.\.3, got 4"):
        check_int("--n", 4, 1, 3)
    with pytest.raises(UsageError):
        check_int("--n", True, 0, 3)


def test_render_limits_allocate_nothing() -> None:
    check_render_limits(MAX_STEPS, MAX_SIZE // 8, 1)
    for steps in (-1, MAX_STEPS + 1, 10**20, 1.5):
        with pytest.raises(ValueError, match=f"steps must be an integer in 0..{MAX_STEPS}"):
            check_render_limits(steps)  # type: ignore[arg-type]
    for size in (0, -3, MAX_SIZE + 1, 10**12, (224, 0)):
        with pytest.raises(ValueError, match=f"size must be an integer in 1..{MAX_SIZE}"):
            check_render_limits(1, size)
    with pytest.raises(ValueError, match="needs about .* GiB"):
        check_render_limits(1, MAX_SIZE, 10**6)
    assert render_bytes(2, (10, 10), dtype_bytes=8) == 2 * render_bytes(2, (10, 10))


def test_visualize_units_checks_its_limits_before_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    from empirical.visualize import _units

    def trip(*args: object, **kwargs: object) -> None:
        raise Tripwire("render started")

    monkeypatch.setattr(_units, "render", trip)
    model = fc._wrap(fc.fashion_net(), "random")
    with pytest.raises(ValueError, match="steps must be"):
        _units.visualize_units(model, "fc2", [0], steps=MAX_STEPS + 1)
    with pytest.raises(ValueError, match="size must be"):
        _units.visualize_units(model, "fc2", [0], steps=1, size=MAX_SIZE + 1)
    with pytest.raises(ValueError, match="needs about"):
        _units.visualize_units(model, "fc2", list(range(10)) * 1000, steps=1, size=MAX_SIZE)


# ---------------------------------------------------------------------------------------------------------------
# fvtrust train
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("--epochs=0", "epochs must be an integer in 1..100"),
        (f"--epochs={fc.MAX_EPOCHS + 1}", "epochs must be an integer in 1..100"),
        ("--epochs=99999999999999999999", "epochs must be"),
        ("--seed=-1", f"seed must be an integer in 0..{fc.MAX_SEED}"),
        (f"--seed={fc.MAX_SEED + 1}", "seed must be"),
        ("--out={blocker}/w.pt", "is not a folder"),
        ("--out={tmp}", "is a folder"),
        ("--out={blocker}", "not a torch weights file"),
    ],
)
def test_train_refuses_bad_settings_before_training(
    option: str, words: str, tmp_path: Path, cache: Path, no_training: None
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("someone's notes\n")
    status, err, seconds = _run(["train", "fashion_cnn", option.format(blocker=blocker, tmp=tmp_path)])
    assert status == 2 and words in err and "Traceback" not in err, err
    assert seconds < QUICK
    assert blocker.read_text() == "someone's notes\n"
    assert not cache.joinpath(fc.WEIGHTS_KEY).exists()


def test_train_writes_the_cache_entry_and_an_out_file_atomically(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from empirical._cache import verify_cache

    calls: list[int] = []
    monkeypatch.setattr(fc, "_train", _fake_train(calls))
    rep = fc.train_fashion_cnn(epochs=1, seed=3)
    assert rep["weights"] == str(cache / fc.WEIGHTS_KEY)
    assert [r["key"] for r in verify_cache() if r["ok"]] == [fc.WEIGHTS_KEY]
    out = tmp_path / "deep" / "w.pt"
    fc.train_fashion_cnn(epochs=1, seed=4, out=out)
    fc.train_fashion_cnn(epochs=1, seed=5, out=out)  # an existing weights file may be replaced
    assert calls == [3, 4, 5] and out.is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["w.pt"]  # no temporary file left
    assert fc.load_fashion_cnn(weights=out).source == f"weights {out}"


# ---------------------------------------------------------------------------------------------------------------
# The cached fashion_cnn weights
# ---------------------------------------------------------------------------------------------------------------
def test_missing_weights_are_trained_once_into_a_checked_entry(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(fc, "_train", _fake_train(calls))
    with contextlib.redirect_stdout(io.StringIO()):
        first = fc.load_fashion_cnn()
    second = fc.load_fashion_cnn()
    assert calls == [0]  # built once, then read
    assert "sha256 checked" in second.source
    assert all(
        torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    )
    manifest = json.loads((cache / "manifest.json").read_text())
    assert fc.WEIGHTS_KEY in manifest["entries"]


@pytest.mark.parametrize("damage", ["bit_flip", "truncated", "wrong_shapes", "untracked"])
def test_damaged_weights_are_rebuilt_with_a_warning(damage: str, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from empirical._cache import save_entry

    calls: list[int] = []
    monkeypatch.setattr(fc, "_train", _fake_train(calls))
    path = cache / fc.WEIGHTS_KEY
    if damage == "wrong_shapes":  # a valid entry (checksum fine) holding weights that do not fit the network
        save_entry(fc.WEIGHTS_KEY, lambda p: torch.save({"conv1.weight": torch.zeros(3)}, p))
    elif damage == "untracked":  # weights put there by something else: no checksum in the manifest
        cache.mkdir(parents=True)
        torch.save(fc.fashion_net().state_dict(), path)
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            fc.load_fashion_cnn()
        data = bytearray(path.read_bytes())
        if damage == "bit_flip":
            data[len(data) // 2] ^= 0x10
        else:
            data = data[: len(data) // 3]
        path.write_bytes(bytes(data))
    calls.clear()
    assert fc.weights_problem() is not None
    # listing (build=False) reports it and trains nothing
    listed = fc.load_fashion_cnn(build=False)
    assert listed.source.startswith("random initialisation; trained weights unusable") and calls == []
    warned = pytest.warns(UserWarning, match=f"(?s)cache entry {fc.WEIGHTS_KEY} .*rebuilding it")
    with warned, contextlib.redirect_stdout(io.StringIO()):
        model = fc.load_fashion_cnn()
    assert calls == [0] and "sha256 checked" in model.source
    assert fc.weights_problem() is None


def test_damaged_weights_are_refused_by_name_when_nothing_may_be_built(cache: Path) -> None:
    from empirical._cache import load_entry, save_entry

    save_entry(fc.WEIGHTS_KEY, lambda p: p.write_bytes(b"not weights"))
    with pytest.raises(ValueError, match=f"cache entry {fc.WEIGHTS_KEY} .*cannot be read"):
        load_entry(fc.WEIGHTS_KEY, fc._read_weights)


def test_models_lists_the_zoo_without_training(cache: Path, no_training: None) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["models"]) == 0
    assert "fashion_cnn" in out.getvalue() and "not built yet" in out.getvalue()
    assert not (cache / fc.WEIGHTS_KEY).exists()
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["models", "--model", "fashion_cnn"]) == 0


# ---------------------------------------------------------------------------------------------------------------
# fvtrust visualize
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("--steps=1000000", f"steps must be an integer in 0..{MAX_STEPS}"),
        ("--steps=-1", "steps must be"),
        ("--size=0", f"size must be an integer in 1..{MAX_SIZE}"),
        ("--size=1000000", "size must be"),
        (f"--size={MAX_SIZE}", "needs about"),  # with 100 units in one batch
        ("--device=nosuch", "device 'nosuch' is not one of cpu, cuda, cuda:N"),
        ("--device=cpu:x", "device 'cpu:x'"),
        ("--seed=-1", "--seed must be an integer"),
        ("--natural=0", "--natural must be an integer"),
        ("--out={blocker}/sub", "is not a folder"),
        ("--out={blocker}", "exists and is not a folder"),
    ],
)
def test_visualize_refuses_bad_settings_before_loading_the_model(
    option: str, words: str, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from empirical.visualize import _folder

    def trip(*args: object, **kwargs: object) -> None:
        raise Tripwire("model loaded")

    monkeypatch.setattr(_folder, "_load_model", trip)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = tmp_path / "out"
    units = [f"--unit=logits:{i}" for i in range(100 if "needs about" in words else 1)]
    argv = ["visualize", "--model", "mobilenet_v2", *units, "--out", str(out), "--steps", "1"]
    status, err, seconds = _run([*argv, option.format(blocker=blocker)])
    assert status == 2 and words in err and "Traceback" not in err, err
    assert seconds < QUICK
    assert not out.exists()


# ---------------------------------------------------------------------------------------------------------------
# The paths experiment's writes
# ---------------------------------------------------------------------------------------------------------------
def test_paths_writes_never_follow_a_planted_symlink(tmp_path: Path) -> None:
    from empirical.paths._render import write_atomic

    victim = tmp_path / "victim"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    for name in (".paths.json.tmp.json", ".chunk.pt.tmp", ".chunk.pt.1234.tmp"):  # the old fixed names
        (out / name).symlink_to(victim)
    write_atomic(out / "paths.json", lambda p: p.write_text("{}"))
    write_atomic(out / "chunk.pt", lambda p: torch.save({"images": torch.zeros(1)}, p))
    assert victim.read_text() == "keep me"
    assert (out / "paths.json").read_text() == "{}"
    assert torch.load(out / "chunk.pt", weights_only=True)["images"].shape == (1,)

    def broken(p: Path) -> None:
        p.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(out / "paths.json", broken)
    assert (out / "paths.json").read_text() == "{}"  # the old file stays; no temporary file is left
    assert sorted(p.name for p in out.iterdir() if not p.is_symlink()) == ["chunk.pt", "paths.json"]


def test_png_writers_keep_their_suffix(tmp_path: Path) -> None:
    from PIL import Image

    from empirical.paths._render import write_atomic

    write_atomic(tmp_path / "grid.png", lambda p: Image.new("RGB", (2, 2)).save(p))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Image.open(tmp_path / "grid.png") as image:
            assert image.format == "PNG"


@pytest.mark.parametrize(
    "argv",
    [
        ["visualize", "--model", "inceptionv1", "--unit", "mixed4a:0", "--out", "{out}"],
        ["sweep", "--model", "inceptionv1", "--layer", "mixed4a", "--units", "0", "--seeds", "0", "--out", "{out}"],
        ["fool", "--model", "inceptionv1", "--method", "circuit", "--out", "{out}"],
    ],
    ids=lambda a: a[0],
)
@pytest.mark.parametrize("content", ["garbage", "list"])
def test_an_unreadable_weights_file_is_exit_2_naming_it(
    argv: list[str], content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A weights file torch cannot read without running code, or one that is no dict of tensors: one line, exit 2."""
    import torch

    weights = tmp_path / f"{content}.pt"
    if content == "garbage":
        weights.write_bytes(os.urandom(3000))
    else:
        torch.save([1, 2], weights)
    out = tmp_path / "out"
    status = cli.main([a.replace("{out}", str(out)) for a in argv] + ["--weights", str(weights)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert str(weights) in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "extra,match",
    [(["--device", "nosuch"], "--device"), (["--seed", *map(str, range(101))], "at most 100 seeds")],
)
def test_fool_device_and_seed_count_are_checked_first(
    extra: list[str], match: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert cli.main(["fool", "--model", "fashion_cnn", "--method", "circuit", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1 and not out.exists()
