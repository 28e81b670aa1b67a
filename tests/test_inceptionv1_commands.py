"""``fvtrust fool`` and ``fvtrust bridge`` with ``--model inceptionv1 --weights PATH`` (random weights saved as a
user's file: the real ``inception5h.pth`` is not available offline)."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

import empirical.bridge._run as bridge_run
import empirical.fooling as fooling
import empirical.fooling._config as fool_config
import empirical.fooling._run as fool_run
from empirical.models import load_model
from fvtrust.cli import build_parser, main


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight state dict with Lucent's names, saved as a user's ``inception5h.pth``."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("iv1") / "inception5h.pth"
    torch.save(load_model("inceptionv1", weights="random").net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def model(weights: Path) -> torch.nn.Module:
    return load_model("inceptionv1", weights=weights)


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, wrong)
    pickled = tmp_path / "pickle.pth"
    pickled.write_bytes(pickle.dumps([1, 2, 3]))
    return {"missing": tmp_path / "nope.pth", "garbage": garbage, "wrong keys": wrong, "pickle": pickled}


def test_parsers_accept_weights() -> None:
    fool = build_parser().parse_args(
        ["fool", "--model", "inceptionv1", "--weights", "W.pth", "--method", "circuit", "--out", "o"]
    )
    assert fool.model == "inceptionv1" and fool.weights == "W.pth"
    bridge = build_parser().parse_args(
        ["bridge", "--model", "inceptionv1", "--weights", "W.pth", "--unit", "mixed4a:476", "--out", "o"]
    )
    assert bridge.model == "inceptionv1" and bridge.weights == "W.pth"


@pytest.fixture
def no_fool_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_a: Any, **_k: Any) -> None:
        raise AssertionError("work started despite bad weights")

    for name in ("run_circuit", "run_silent", "photo_splits"):
        monkeypatch.setattr(fool_config, name, fail)


@pytest.mark.parametrize("kind", ["missing", "garbage", "wrong keys", "pickle", None])
@pytest.mark.parametrize("method", ["circuit", "silent"])
def test_fool_bad_weights_exit_2_before_work(
    kind: str | None, method: str, bad_files: dict[str, Path], tmp_path: Path, no_fool_work: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "out"
    argv = ["fool", "--model", "inceptionv1", "--method", method, "--out", str(out), "--no-progress"]
    if kind is not None:
        argv += ["--weights", str(bad_files[kind])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fvtrust fool: error: ") and err.count("\n") == 1
    assert "weights" in err
    assert not out.exists()


def test_fool_passes_weights_through(weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(model_name: str, out: Path, **kw: Any) -> dict[str, Any]:
        seen.update(kw, model=model_name)
        return {"accuracy_before": 0.5}

    monkeypatch.setattr(fool_config, "run_circuit", fake)
    argv = ["fool", "--model", "inceptionv1", "--weights", str(weights), "--method", "circuit"]
    assert main([*argv, "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    assert seen["model"] == "inceptionv1" and seen["weights"] == str(weights)


def test_inceptionv1_preset_fits_the_network(model: torch.nn.Module) -> None:
    for quick in (False, True):
        for recipe in ("project", "paper"):
            p = fooling.preset("inceptionv1", quick, recipe)
            layer = model.get_layer(p.silent_layer)  # type: ignore[operator]
            assert isinstance(layer, torch.nn.Conv2d) and layer.groups == 1
            assert p.similarity_layer in model.layer_names()  # type: ignore[operator]
            assert "untuned" in p.tuned_on or recipe == "paper"
    assert fooling.preset("inceptionv1", False).render["redirect_relu"] == 16


def test_labels_become_inceptionv1_outputs(model: torch.nn.Module) -> None:
    """Bundled photos carry labels in the standard sorted order; inceptionv1 scores them at devkit outputs."""
    from empirical.models import imagenet_wnids, output_index_for_wnid

    labels = torch.tensor([0, -1, 999])
    mapped = fool_run._to_outputs(labels, model)
    assert mapped.tolist() == [
        output_index_for_wnid(model, imagenet_wnids()[0]),
        -1,
        output_index_for_wnid(model, imagenet_wnids()[999]),
    ]
    assert mapped[0] == 449  # tench: ILSVRC2012_ID 449
    mobile_like = type("M", (), {"wnids": list(imagenet_wnids())})()
    assert fool_run._to_outputs(labels, mobile_like).tolist() == labels.tolist()


def test_detector_cache_is_keyed_by_the_weights(model: torch.nn.Module, weights: Path) -> None:
    """E must not be reused across weights files (or random draws): its cache name hashes the parameters."""
    other = load_model("inceptionv1", weights="random")
    a = fool_run._cache_name("inceptionv1", model, weights)
    assert a == fool_run._cache_name("inceptionv1", load_model("inceptionv1", weights=weights), weights)
    assert a != fool_run._cache_name("inceptionv1", other, "random") and a.startswith("inceptionv1-")
    assert fool_run._cache_name("mobilenet_v2", other, None) == "mobilenet_v2"


# ---------------------------------------------------------------------------------------------------- bridge


@pytest.mark.parametrize("kind", ["missing", "garbage", "wrong keys", "pickle", None])
def test_bridge_bad_weights_exit_2_before_work(
    kind: str | None, bad_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    def fail(*_a: Any, **_k: Any) -> None:
        raise AssertionError("work started despite bad weights")

    monkeypatch.setattr(bridge_run, "_load_data", fail)
    monkeypatch.setattr(bridge_run, "analyse", fail)
    out = tmp_path / "out"
    argv = ["bridge", "--model", "inceptionv1", "--unit", "mixed4a:476", "--out", str(out), "--no-progress"]
    if kind is not None:
        argv += ["--weights", str(bad_files[kind])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fvtrust bridge: error: ") and err.count("\n") == 1
    assert "weights" in err
    assert not out.exists()


def test_bridge_chain_reproduces_inceptionv1(model: torch.nn.Module) -> None:
    """The walked chain (stem, "SAME" pads and pools, LRN, mixed blocks as concatenated branches) computes the
    network's own activations, and its certified bound is above sampled gradient norms."""
    from empirical.bridge import lipschitz_upper_bound, unit_gradients
    from empirical.bridge._inception import resolve_concat

    assert resolve_concat(model, "mixed3a", 200) == ("mixed3a_5x5", 8)  # 64 + 128 channels before the 5x5 branch
    assert resolve_concat(model, "mixed4a", 476) == ("mixed4a_pool_reduce", 32)  # 192 + 204 + 48 before
    assert resolve_concat(model, "conv2d0", 3) == ("conv2d0", 3)
    shape = (3, 64, 64)
    x = torch.rand(3, *shape, generator=torch.Generator().manual_seed(1))
    for layer, index in [("localresponsenorm0", 3), ("mixed3a", 200), ("mixed3b_3x3_pre_relu_conv", 5)]:
        bound = lipschitz_upper_bound(model, layer, index, shape)
        assert bound.forward_error < 1e-5
        _, grads = unit_gradients(model, layer, index, x)
        assert float(grads.flatten(1).norm(dim=1).max()) <= bound.upper


def test_bridge_end_to_end_tiny(weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bridge"
    argv = ["bridge", "--model", "inceptionv1", "--weights", str(weights), "--unit", "localresponsenorm0:3"]
    argv += ["--out", str(out), "--quick", "--images", "2", "--steps", "2", "--no-progress"]
    assert main(argv) == 0
    report = json.loads((out / "bridge.json").read_text())
    assert report["config"]["weights"] == str(weights) and report["model"] == "inceptionv1"
    assert (out / "bridge.png").exists() and "wrote" in capsys.readouterr().out


@pytest.mark.slow
def test_fool_circuit_end_to_end_tiny(weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole circuit pipeline on inceptionv1 with tiny sizes (E from 3 renders of 4 steps)."""
    monkeypatch.setenv("FVTRUST_CACHE", str(tmp_path / "cache"))
    real = fool_run.preset

    def tiny(model_name: str, quick: bool, recipe: str = "project") -> Any:
        p = real(model_name, quick, recipe)
        det = replace(
            p.detector, units_per_layer=3, layers=("logits",), seeds=(100,), steps=4, snapshot_steps=(2,),
            n_natural_train=64, n_natural_test=16, epochs=1,
        )  # fmt: skip
        return replace(p, detector=det, steps=4, block=2, n_natural_eval=4)

    monkeypatch.setattr(fool_run, "preset", tiny)
    report = fool_run.run_circuit(
        "inceptionv1", tmp_path / "out", quick=True, weights=weights, progress=False, scores=False, n_units=2
    )
    assert report["weights"] == str(weights) and report["model"] == "inceptionv1"
    assert report["units"] == [0, 1] and len(report["per_unit"]) == 2
    assert (tmp_path / "out" / "report.json").exists() and (tmp_path / "out" / "fooling.png").exists()
    assert report["top1_agreement"] == 1.0  # the circuit keeps every natural image's top-1 (E stays silent)
