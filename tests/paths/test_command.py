"""``fvtrust paths`` input checks (no model needed): image folders, saved visualizations, bad arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from fvtrust.commands.paths import imagenet_folder, load_visualizations, register, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser


def test_imagenet_folder(tmp_path: Path) -> None:
    names = ["tench", "goldfish", "great white shark"]
    for sub in ("0", "great_white_shark"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "a.jpg").write_bytes(b"")
    assert sorted(imagenet_folder(tmp_path, names)) == [0, 2]
    (tmp_path / "zebra").mkdir()
    with pytest.raises(ValueError, match="neither a class index nor a class name"):
        imagenet_folder(tmp_path, names)
    with pytest.raises(ValueError, match="not a directory"):
        imagenet_folder(tmp_path / "missing", names)


def test_load_visualizations(tmp_path: Path) -> None:
    f = tmp_path / "v.pt"
    torch.save({"images": torch.rand(2, 3, 1, 4, 4), "classes": [3, 5], "steps": 64}, f)
    vis, meta = load_visualizations(f, [3, 5])
    assert vis.shape == (2, 3, 1, 4, 4) and meta == {"steps": 64}
    with pytest.raises(ValueError, match="do not match"):
        load_visualizations(f, [3, 4])
    with pytest.raises(ValueError, match="no such file"):
        load_visualizations(tmp_path / "none.pt", [3, 5])


@pytest.mark.parametrize("flag", ["--image-buckets=0", "--bootstrap=-1", "--images-per-class=0"])
def test_bad_arguments(tmp_path: Path, flag: str) -> None:
    args = _parser().parse_args(["paths", "--model", "fashion_cnn", "--out", str(tmp_path), flag])
    with pytest.raises(ValueError, match="must be"):
        run(args)
