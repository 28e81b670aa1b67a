"""Bad input to ``fvtrust sweep`` exits with status 2 and one line on stderr, before any work (no folder made)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fvtrust.cli import main
from tests.sweep._common import sweep_args


def _replace(argv: list[str], flag: str, value: str) -> list[str]:
    argv = list(argv)
    argv[argv.index(flag) + 1] = value
    return argv


CASES = [
    ("--steps", "0", "--steps must be an integer in 1..100000"),
    ("--steps", "100001", "--steps must be an integer in 1..100000"),
    ("--batch", "0", "--batch must be an integer in 1..4096"),
    ("--batch", "4097", "--batch must be an integer in 1..4096"),
    ("--units", "0-999999,0-9", "more than 1000000 indices"),
    ("--seeds", "0-999999", "pairs; at most 1000000"),
    ("--units", "3-1", "runs backwards"),
    ("--units", "seven", "cannot read"),
    ("--seeds", "random:4", "not allowed"),
    ("--units", "60-64", "index 64 out of range, this layer has 64 units"),
    ("--units", "random:65", "cannot draw 65 of 64"),
    ("--layer", "conv9", "no layer 'conv9'"),
    ("--model", "vgg", "unknown model 'vgg'"),
    ("--device", "tpu", "present: cpu"),
]
if not torch.cuda.is_available():
    CASES.append(("--device", "cuda", "no CUDA device present"))


@pytest.mark.parametrize(("flag", "value", "message"), CASES)
def test_bad_input_exits_2_with_one_line_and_no_output(
    flag: str, value: str, message: str, weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    argv = sweep_args(weights, out, "--device", "cpu") if flag != "--device" else sweep_args(weights, out)
    argv = _replace(argv, flag, value) if flag in argv else [*argv, flag, value]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and err.startswith("fvtrust sweep: error:")
    assert not out.exists()


def test_missing_weights_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    assert main(sweep_args(tmp_path / "nope.pt", out)) == 2
    assert "nope.pt" in capsys.readouterr().err
    assert not out.exists()


def test_other_settings_in_the_same_folder_are_refused(weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    assert main(_replace(sweep_args(weights, out), "--units", "0")) == 0
    with pytest.raises(SystemExit):  # argparse: --steps must be an int
        main(_replace(sweep_args(weights, out), "--steps", "x"))
    before = sorted(p.name for p in (out / "pairs").iterdir())
    assert main(_replace(_replace(sweep_args(weights, out), "--units", "0"), "--steps", "4")) == 2
    assert sorted(p.name for p in (out / "pairs").iterdir()) == before
