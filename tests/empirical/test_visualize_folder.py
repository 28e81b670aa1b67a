"""``empirical.visualize.visualize_to_folder`` is ``fvtrust visualize``: same files, same records (issue 25.3).

Also: one reader of ``LAYER:INDEX`` for the whole project, and nothing created when a layer or unit is bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from empirical.visualize import VisualizeConfig, check_visualize_config, parse_unit, visualize_to_folder
from fvtrust.cli import main


def _records(folder: Path) -> dict[str, dict[str, object]]:
    out = {}
    for f in sorted(folder.glob("*.json")):
        record = json.loads(f.read_text())
        record.pop("render_seconds_batch")  # a duration
        out[f.name] = record
    return out


def test_library_call_gives_the_same_files_as_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    units = ("features.4:3", "features.4:7", "logits:1")
    argv = ["visualize", "--model", "mobilenet_v2", *[f"--unit={u}" for u in units]]
    settings = ["--steps", "2", "--size", "32", "--natural", "3", "--seed", "5", "--no-progress"]
    torch.manual_seed(0)
    assert main([*argv, *settings, "--out", str(tmp_path / "cli")]) == 0
    printed = capsys.readouterr().out.splitlines()

    lines: list[str] = []
    config = VisualizeConfig(
        "mobilenet_v2", units, tmp_path / "lib", steps=2, size=32, natural=3, seed=5, progress=False
    )
    torch.manual_seed(0)
    report = visualize_to_folder(config, log=lines.append)

    cli_files = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert cli_files == sorted(p.name for p in (tmp_path / "lib").iterdir()) == sorted(f.name for f in report.files)
    assert "grid.png" in cli_files and len(cli_files) == 7
    for name in cli_files:
        if name.endswith(".png"):
            assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "lib" / name).read_bytes(), name
    assert _records(tmp_path / "cli") == _records(tmp_path / "lib")
    assert [r["unit"] for r in report.records] == [3, 7, 1]
    assert report.to_dict()["config"]["units"] == list(units)
    json.dumps(report.to_dict())  # JSON-ready
    assert [line.split()[0] for line in printed] == [line.split()[0] for line in lines] == [*units, "grid:"]


def test_one_unit_reader_for_the_project() -> None:
    import empirical.bridge as bridge
    from empirical.bridge import _run

    assert bridge.parse_unit is parse_unit and _run.parse_unit is parse_unit
    assert parse_unit("mixed4a:476") == ("mixed4a", 476)
    for bad in ("features.17", ":3", "a:1:2", "x:-1", "x: 1", "x:" + "9" * 40, "", None):
        with pytest.raises(ValueError, match="LAYER:INDEX"):
            parse_unit(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bad --unit 'x'"):
        parse_unit("x", "--unit")


def test_settings_are_checked_before_the_model_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from empirical.visualize import _folder

    def trip(*args: object, **kwargs: object) -> None:
        raise AssertionError("model loaded")

    monkeypatch.setattr(_folder, "_load_model", trip)
    out = tmp_path / "out"
    for kwargs, words in [
        ({"units": ()}, "at least one"),
        ({"units": ("nope",)}, "bad --unit"),
        ({"steps": 10**6}, "--steps must be"),
        ({"size": 5000}, "--size must be"),
        ({"natural": 0}, "--natural must be"),
        ({"seed": -1}, "--seed must be"),
        ({"redirect_rule": "x"}, "--redirect-rule"),
        ({"weights": str(tmp_path / "missing.pt")}, "--weights"),
        ({"device": "gpu"}, "device 'gpu'"),
    ]:
        config = VisualizeConfig(**{"model": "mobilenet_v2", "units": ("logits:0",), "out": out, **kwargs})
        with pytest.raises(ValueError, match=words):
            check_visualize_config(config)
        with pytest.raises(ValueError, match=words):
            visualize_to_folder(config)
    assert not out.exists()


@pytest.mark.parametrize(
    ("unit", "words"), [("nosuch:0", "has no layer .nosuch."), ("features.4:100000", "out of range")]
)
def test_bad_layer_or_unit_creates_no_folder(unit: str, words: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = VisualizeConfig("mobilenet_v2", ("logits:0", unit), out, steps=1, size=32, progress=False)
    with pytest.raises(ValueError, match=words):
        visualize_to_folder(config)
    assert not out.exists()


def test_nothing_is_rendered_when_an_output_name_is_taken(tmp_path: Path) -> None:
    out = tmp_path / "v"
    (out / "fashion_cnn_conv1_1.json").mkdir(parents=True)
    config = VisualizeConfig(model="fashion_cnn", units=("conv1:0", "conv1:1"), steps=3, natural=4, out=out)
    with pytest.raises(ValueError, match="exists and is not a file"):
        visualize_to_folder(config)
    assert [p.name for p in out.iterdir()] == ["fashion_cnn_conv1_1.json"]
