"""A weights file is checked against the network before it is loaded: names, shapes, kinds and finite values; a
file that does not fit is one line (exit 2 from the command line) naming it, never a traceback or a false result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from empirical.models import load_model
from empirical.models._fashion_cnn import fashion_net

ROOT = Path(__file__).resolve().parents[2]


def _state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {k: v.clone() for k, v in fashion_net().state_dict().items()}


def _bad(kind: str) -> dict[str, torch.Tensor]:
    s = _state()
    first = next(iter(s))
    if kind == "nan":
        s[first] = s[first].clone().fill_(float("nan"))
    elif kind == "inf":
        s[first][0] = float("inf")
    elif kind == "shape":
        s[first] = torch.zeros(3, 3)
    elif kind == "missing":
        del s[first]
    elif kind == "extra":
        s["something.else"] = torch.zeros(1)
    elif kind == "int":
        s[first] = s[first].to(torch.int64)
    elif kind == "complex":
        s[first] = s[first].to(torch.complex64)
    return s


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("nan", "non-finite"),
        ("inf", "non-finite"),
        ("shape", "wrong shapes"),
        ("missing", "names missing"),
        ("extra", "unexpected"),
        ("int", "expected torch.float32"),
        ("complex", "expected torch.float32"),
    ],
)
def test_a_weights_file_that_does_not_fit_is_refused(tmp_path, kind, says):
    path = tmp_path / f"{kind}.pth"
    torch.save(_bad(kind), path)
    with pytest.raises(ValueError, match=says) as err:
        load_model("fashion_cnn", weights=str(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_weights_file_that_fits_loads(tmp_path):
    path = tmp_path / "ok.pth"
    state = _state()
    torch.save(state, path)
    net = load_model("fashion_cnn", weights=str(path)).net
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())


@pytest.mark.parametrize("kind", ["nan", "shape"])
def test_the_command_line_refuses_it_in_one_line(tmp_path, kind):
    path = tmp_path / f"{kind}.pth"
    torch.save(_bad(kind), path)
    out = subprocess.run(
        [sys.executable, "-m", "fvtrust", "models", "--model", "fashion_cnn", "--weights", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and str(path) in out.stderr


def test_checkpoints_without_the_batchnorm_counter_load(tmp_path):
    """PyTorch keeps num_batches_tracked itself: checkpoints from before it existed (or storing it as a float)
    load as before."""
    from empirical.models._mobilenet_v2 import MobileNetV2
    from empirical.models._zoo import load_weights

    net = MobileNetV2()
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pt")
    load_weights(MobileNetV2(), tmp_path / "old.pt")
    floats = {k: (v.float() if k.endswith("num_batches_tracked") else v) for k, v in net.state_dict().items()}
    torch.save(floats, tmp_path / "float_counter.pt")
    load_weights(MobileNetV2(), tmp_path / "float_counter.pt")


@pytest.mark.parametrize("kind", ["sparse", "meta", "int_key", "fp8"])
def test_tensors_without_dense_numbers_are_refused_in_one_line(tmp_path, kind):
    s = _state()
    first = next(iter(s))
    if kind == "sparse":
        s[first] = s[first].to_sparse()
    elif kind == "meta":
        s[first] = torch.empty(s[first].shape, device="meta")
    elif kind == "int_key":
        s[1] = s.pop(first)  # type: ignore[index]
    elif kind == "fp8":
        if not hasattr(torch, "float8_e4m3fn"):
            pytest.skip("this torch has no float8")
        s[first] = s[first].to(torch.float8_e4m3fn)
    path = tmp_path / f"{kind}.pth"
    torch.save(s, path)
    with pytest.raises(ValueError) as err:
        load_model("fashion_cnn", weights=str(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)
