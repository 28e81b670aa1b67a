"""``fvtrust bridge`` end to end with a stand-in zoo model (the real zoo: test_bridge_real.py, slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from fvtrust import bridge
from fvtrust.cli import main
from fvtrust.commands import bridge as command


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
    gen = torch.Generator().manual_seed(1)

    def data(name: str, n_images: int, pool: int, seed: int) -> bridge.BridgeData:
        test = torch.rand(n_images, 1, 16, 16, generator=gen) * 0.6
        return bridge.BridgeData(test, torch.rand(pool, 1, 16, 16, generator=gen) if pool else None, {"test": "rand"})

    monkeypatch.setattr(command, "_load_model", lambda name, device: TinyZoo())
    monkeypatch.setattr(bridge, "load_bridge_data", data)


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
        (["--model", "fashion_cnn", "--unit", "1:0", "--images", "0"], "--images must be >= 1"),
        (["--model", "fashion_cnn", "--unit", "1:0", "--exemplars", "-1"], "--exemplars must be >= 0"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    tmp_path: Path, fake_zoo: None, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bridge", *extra, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
