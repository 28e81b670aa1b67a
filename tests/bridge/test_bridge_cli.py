"""``fvtrust bridge`` end to end with a stand-in zoo model (the real zoo: test_bridge_real.py, slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from empirical.bridge import BridgeData, BridgeRun, _run, bridge_unit
from fvtrust.cli import main


class TinyZoo(nn.Module):
    """A 1-channel 16x16 model with the ZooModel interface (normalisation buffers, ``net``, layer names)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.register_buffer("mean", torch.full((1, 1, 1, 1), 0.29))
        self.register_buffer("std", torch.full((1, 1, 1, 1), 0.35))
        self.net = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
        )  # fmt: skip
        self.input_size = (1, 16, 16)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x - self.mean) / self.std)

    def layer_names(self) -> list[str]:
        return [n for n, _ in self.net.named_modules() if n] + ["logits"]

    def get_layer(self, name: str) -> nn.Module:
        modules = dict(self.net.named_modules())
        if name not in modules or not name:
            raise ValueError(f"unknown layer {name!r}; layers: {', '.join(self.layer_names())}")
        return modules[name]


@pytest.fixture
def fake_zoo(monkeypatch: pytest.MonkeyPatch) -> None:
    def data(config: _run.BridgeConfig) -> BridgeData:
        gen = torch.Generator().manual_seed(config.seed + 1)
        test = torch.rand(config.images, 1, 16, 16, generator=gen) * 0.6
        pool = torch.rand(config.pool, 1, 16, 16, generator=gen) if config.pool else None
        return BridgeData(test, pool, {"test": "rand"})

    monkeypatch.setattr(_run, "_load_model", lambda name, device: TinyZoo())
    monkeypatch.setattr(_run, "_load_data", data)


@pytest.mark.parametrize("unit", ["4:2", "logits:1"])
def test_cli_writes_report_figure_and_summary(
    tmp_path: Path, fake_zoo: None, unit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bridge", "--model", "fashion_cnn", "--unit", unit, "--out", str(tmp_path), "--quick"]
    assert main([*argv, "--images", "30", "--steps", "40", "--exemplars", "2", "--no-progress"]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"bridge.json", "bridge.png", "bridge.md"}
    printed = capsys.readouterr().out
    assert "| certified (upper bound) |" in printed and "bridge.json" in printed
    rep = json.loads((tmp_path / "bridge.json").read_text())
    lip = rep["lipschitz"]
    assert lip["lower_le_upper"] and 0 < lip["lower"]["lower"] <= lip["upper"]["upper"]
    assert len(rep["observations"]) == 6 and rep["settings"]["images"] == 30
    assert rep["closed_form_vs_value_range"]["max_deviation"] < 1e-9
    cert = rep["certified"]
    # certified L, true values: the Lipschitz-only range contains every activation, unconditionally
    assert cert["contained_unconditional"] == 30 and cert["violations_unconditional"] == []
    # the theory's range also uses the premise f_min <= f <= f_max; it may fail only where that premise fails
    assert len(cert["violations"]) <= rep["actual"]["outside_fmin_fmax"]
    assert cert["decided_wrong"] == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "resnet50", "--unit", "1:0"], "not supported"),
        (["--model", "fashion_cnn", "--unit", "conv"], "LAYER:INDEX"),
        (["--model", "fashion_cnn", "--unit", "1:0", "--images", "0"], "images must be an integer in [1, 10000]"),
        (["--model", "fashion_cnn", "--unit", "1:0", "--exemplars", "-1"], "exemplars must be an integer in [0,"),
        (["--model", "fashion_cnn", "--unit", "1:0", "--steps", "1000000000000"], "steps must be an integer in"),
        (["--model", "fashion_cnn", "--unit", "1:0", "--device", "nosuch"], "device 'nosuch'"),
        (["--model", "fashion_cnn", "--unit", "1:0", "--seed", "-3"], "seed must be"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    tmp_path: Path, fake_zoo: None, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bridge", *extra, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _without_timing(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "provenance"}


def test_python_call_gives_the_command_line_result(tmp_path: Path, fake_zoo: None) -> None:
    """``bridge_unit`` from Python and ``fvtrust bridge`` write the same report (up to the timings)."""
    argv = ["--model", "fashion_cnn", "--unit", "4:2", "--quick", "--images", "20", "--steps", "30", "--exemplars", "1"]
    assert main(["bridge", *argv, "--out", str(tmp_path / "cli"), "--no-progress"]) == 0
    run = bridge_unit(
        "fashion_cnn", "4:2", tmp_path / "py", quick=True, images=20, steps=30, exemplars=1, progress=False
    )
    assert isinstance(run, BridgeRun) and run.config.images == 20 and run.config.pool == 2000
    from_cli = json.loads((tmp_path / "cli" / "bridge.json").read_text())
    from_py = json.loads((tmp_path / "py" / "bridge.json").read_text())
    assert (
        _without_timing(from_cli) == _without_timing(from_py) == _without_timing(json.loads(json.dumps(run.to_dict())))
    )
    assert (tmp_path / "cli" / "bridge.md").read_text() == run.markdown + "\n"


def test_unwritable_out_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--out`` under a regular file: exit 2 naming it, and the model is never loaded."""
    blocker = tmp_path / "file"
    blocker.write_text("x")

    def no_model(name: str, device: str) -> None:
        raise AssertionError("the model was loaded before the output directory was checked")

    monkeypatch.setattr(_run, "_load_model", no_model)
    with pytest.raises(ValueError, match="cannot be created: .* is not a folder"):
        bridge_unit("fashion_cnn", "4:2", blocker / "sub")
    assert main(["bridge", "--model", "fashion_cnn", "--unit", "4:2", "--out", str(blocker / "sub")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_taken_report_name_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder at bridge.md: exit 2 naming it, before the model is loaded (the report used to fail at the end)."""
    (tmp_path / "out" / "bridge.md").mkdir(parents=True)

    def no_model(name: str, device: str) -> None:
        raise AssertionError("the model was loaded before the output names were checked")

    monkeypatch.setattr(_run, "_load_model", no_model)
    with pytest.raises(ValueError, match="exists and is not a file"):
        bridge_unit("fashion_cnn", "4:2", tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["bridge.md"]


def test_python_call_without_out_writes_nothing(
    tmp_path: Path, fake_zoo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = bridge_unit("fashion_cnn", "logits:1", quick=True, images=10, steps=20, progress=False)
    assert run.paths == {} and list(tmp_path.iterdir()) == []
    assert run.to_dict()["settings"]["images"] == 10 and run.to_dict()["config"]["layer"] == "logits"
