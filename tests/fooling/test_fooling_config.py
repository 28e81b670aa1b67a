"""``FoolingConfig``/``run_fooling``: the library entry point of ``fvtrust fool`` (checks before any work, the same
call as the command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import empirical.fooling._config as fool_config
import fvtrust.commands.fool as fool_command
from empirical.fooling import FoolingConfig, check_config, run_fooling
from fvtrust.cli import main


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    monkeypatch.setenv("FVTRUST_CACHE", str(tmp_path / "cache"))
    seen: list[dict[str, Any]] = []

    def stand_in(name: str) -> Any:
        def run(model_name: str, out: Path, **kw: Any) -> dict[str, Any]:
            seen.append(dict(function=name, model=model_name, out=out, **kw))
            return {"accuracy_before": 0.5}

        return run

    for name in ("run_circuit", "run_silent"):
        monkeypatch.setattr(fool_config, name, stand_in(name))
    return seen


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"model": "resnet"}, "--model 'resnet' is not supported"),
        ({"method": "both"}, "--method 'both'"),
        ({"alpha": 1.0}, "apply to --method silent only"),
        ({"method": "silent", "alpha": -1.0}, "--alpha must be >= 0"),
        ({"method": "silent", "alpha": "2"}, "--alpha must be a number"),
        ({"c": float("inf")}, "--c must be a finite number"),
        ({"k": True}, "--k must be a number"),
        ({"seeds": ()}, "at least 1 and at most 100 seeds"),
        ({"seeds": (1, 1)}, "distinct integers"),
        ({"seeds": (True,)}, "distinct integers"),
        ({"units": 65}, "--units must be in 2..64"),
        ({"method": "silent", "gate": True, "trigger": True}, "the gate or the trigger"),
        ({"detector_rule": "median"}, "--detector-rule 'median'"),
        ({"recipe": "paper"}, "--recipe paper applies to --method silent only"),
        ({"method": "silent", "recipe": "other"}, "--recipe 'other'"),
        ({"target": "image:nothing"}, "unknown target image 'nothing'"),
        ({"extra_dir": Path(".")}, "--extra-dir needs --imagenet-dir"),
        ({"device": "tpu"}, "--device"),
    ],
)
def test_bad_settings_raise_naming_the_flag_before_any_work(
    changes: dict[str, Any], words: str, calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    settings: dict[str, Any] = {"model": "fashion_cnn", "method": "circuit", "out": tmp_path / "out", **changes}
    with pytest.raises(ValueError) as info:
        run_fooling(FoolingConfig(**settings))
    assert words in str(info.value)
    assert not calls and not (tmp_path / "out").exists()


def test_check_config_resolves_the_device_and_writes_nothing(tmp_path: Path) -> None:
    config = FoolingConfig(model="fashion_cnn", method="silent", out=tmp_path / "a" / "b", device="cpu")
    assert check_config(config) == "cpu"
    assert not (tmp_path / "a").exists()


def test_library_and_command_make_the_same_call(calls: list[dict[str, Any]], tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["fool", "--model", "fashion_cnn", "--method", "silent", "--gate-ramp", "0.02", "--alpha", "4",
            "--seed", "3", "5", "--units", "4", "--unit-seed", "9", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    report = run_fooling(
        FoolingConfig(
            model="fashion_cnn",
            method="silent",
            out=out,
            gate_ramp=0.02,
            alpha=4.0,
            seeds=(3, 5),
            units=4,
            unit_seed=9,
            progress=False,
        )  # fmt: skip
    )
    assert report == {"accuracy_before": 0.5}
    command, library = calls
    assert command == library
    assert command["function"] == "run_silent" and command["gate"] is True  # a ramp asks for the gate
    assert command["seed"] == [3, 5] and command["pooled"] is None and command["detector"] is None


def test_the_commands_help_names_are_the_librarys() -> None:
    """The command keeps copies for its help text (the command line imports no torch): they must agree."""
    assert fool_command.MODELS == fool_config.MODELS and fool_command.METHODS == fool_config.METHODS
    assert fool_config.LIMITS["units"][1] == fool_command.MAX_UNITS
