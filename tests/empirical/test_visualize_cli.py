"""Tests of ``fvtrust visualize`` with a stand-in zoo model (the real zoo: slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from empirical.visualize import _folder as library
from empirical.visualize import parse_unit
from fvtrust.cli import main


class TinyZooModel(nn.Module):
    """A 3-channel model with the ZooModel interface of docs/interfaces.md."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4)
        )
        self.input_size = (3, 16, 16)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    def layer_names(self) -> list[str]:
        return [n for n, _ in self.net.named_modules() if n] + ["logits"]

    def get_layer(self, name: str) -> nn.Module:
        modules = dict(self.net.named_modules())
        if name not in modules or not name:
            raise ValueError(f"unknown layer {name!r}; layers: {', '.join(self.layer_names())}")
        return modules[name]


@pytest.fixture
def fake_zoo(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    calls: dict[str, object] = {}
    natural = torch.rand(10, 3, 20, 20, generator=torch.Generator().manual_seed(0))

    def load(name: str, weights: str | None, device: str) -> nn.Module:
        calls["model"] = (name, weights, device)
        return TinyZooModel()

    def images(kind: str) -> torch.Tensor:
        calls["kind"] = kind
        return natural

    monkeypatch.setattr(library, "_load_model", load)
    monkeypatch.setattr(library, "_natural_images", images)
    calls["natural"] = natural
    return calls


def test_cli_writes_pngs_json_and_grid(tmp_path: Path, fake_zoo: dict[str, object]) -> None:
    out = tmp_path / "fv"
    argv = ["visualize", "--model", "tiny", "--unit", "1:2", "--unit", "logits:3", "--unit", "1:5"]
    status = main([*argv, "--steps", "6", "--out", str(out), "--seed", "1", "--no-progress", "--natural", "7"])
    assert status == 0
    assert fake_zoo["model"] == ("tiny", None, "cpu") and fake_zoo["kind"] == "imagenet"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["grid.png"] + [f"tiny_{u}.{e}" for u in ("1_2", "1_5", "logits_3") for e in ("png", "json")]
    )
    record = json.loads((out / "tiny_1_2.json").read_text())
    for key in ("objective_start", "objective_final", "natural_max"):
        assert isinstance(record[key], float)
    assert record["steps"] == 6 and record["seed"] == 1 and record["input_shape"] == [3, 16, 16]
    assert record["natural_images"] == {"kind": "imagenet", "count": 7}
    # natural_max is the unit's largest channel mean over the (resized) natural images
    model = TinyZooModel().eval()
    natural = torch.nn.functional.interpolate(fake_zoo["natural"][:7], size=(16, 16), mode="bilinear", antialias=True)
    with torch.no_grad():
        expected = model.net[:2](natural)[:, 2].mean((1, 2)).max()
    assert record["natural_max"] == pytest.approx(float(expected), rel=1e-5)
    from PIL import Image

    assert Image.open(out / "tiny_logits_3.png").size == (16, 16)
    assert Image.open(out / "grid.png").size == (3 * 16 + 2 * 2, 16)


@pytest.mark.parametrize("unit", ["features.17", "features.17:x", ":3", "logits:-1", "a:1:2"])
def test_cli_bad_unit_exits_2(
    unit: str, tmp_path: Path, fake_zoo: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["visualize", "--model", "tiny", "--unit", unit, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad --unit" in err and err.count("\n") == 1
    assert "model" not in fake_zoo  # rejected before loading anything


def test_cli_unknown_layer_and_unit_out_of_range_exit_2(
    tmp_path: Path, fake_zoo: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["visualize", "--model", "t", "--unit", "conv:1", "--out", str(tmp_path), "--steps", "1"]) == 2
    assert "unknown layer 'conv'" in capsys.readouterr().err
    assert main(["visualize", "--model", "t", "--unit", "logits:4", "--out", str(tmp_path), "--steps", "1"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_parse_unit() -> None:
    assert parse_unit("features.17:42") == ("features.17", 42)
    assert parse_unit(" logits:967 ") == ("logits", 967)
    with pytest.raises(ValueError, match="LAYER:INDEX"):
        parse_unit("logits")


@pytest.mark.slow
def test_cli_real_zoo_mobilenet(tmp_path: Path) -> None:
    pytest.importorskip("empirical.models")
    pytest.importorskip("empirical.data")
    argv = ["visualize", "--model", "mobilenet_v2", "--unit", "features.17:42", "--unit", "logits:967"]
    assert main([*argv, "--steps", "5", "--size", "64", "--natural", "4", "--out", str(tmp_path), "--no-progress"]) == 0
    record = json.loads((tmp_path / "mobilenet_v2_logits_967.json").read_text())
    assert record["natural_images"]["kind"] == "imagenet" and record["natural_images"]["count"] == 4
    assert (tmp_path / "grid.png").exists()


def test_cli_inceptionv1_literature_unit(tmp_path: Path) -> None:
    """``--unit mixed4a:476`` on Lucid's InceptionV1 (random weights saved as a user's file), redirected ReLU on."""
    from empirical.models import load_model

    torch.manual_seed(0)
    weights = tmp_path / "inception5h.pth"
    torch.save(load_model("inceptionv1", weights="random").net.state_dict(), weights)
    argv = ["visualize", "--model", "inceptionv1", "--weights", str(weights), "--unit", "mixed4a:476"]
    out = tmp_path / "out"
    assert main([*argv, "--steps", "2", "--size", "64", "--natural", "2", "--out", str(out), "--no-progress"]) == 0
    record = json.loads((out / "inceptionv1_mixed4a_476.json").read_text())
    assert record["redirect_relu"] == {"steps": 2, "rule": "lucid"}  # the model's 16 steps, capped at --steps
    assert (out / "inceptionv1_mixed4a_476.png").exists() and record["input_shape"] == [3, 64, 64]
    argv2 = [*argv, "--redirect-relu", "0", "--steps", "1", "--size", "64", "--natural", "1", "--no-progress"]
    assert main([*argv2, "--out", str(out)]) == 0
    assert json.loads((out / "inceptionv1_mixed4a_476.json").read_text())["redirect_relu"] == {"steps": 0, "rule": None}
    assert main([*argv[:5], "--unit", "mixed4a:999", "--steps", "1", "--out", str(out)]) == 2
