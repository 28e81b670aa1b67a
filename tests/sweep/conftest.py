"""Shared fixtures: a fixed random-weight Fashion-MNIST CNN (tiny, 28 px) saved as a weights file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from empirical.models._fashion_cnn import fashion_net

    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("weights") / "fashion_random.pt"
    torch.save(fashion_net().state_dict(), path)
    return path


@pytest.fixture(scope="session")
def reference(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted single-process sweep of the shared settings."""
    from fvtrust.cli import main
    from tests.sweep._common import sweep_args

    out = tmp_path_factory.mktemp("reference") / "sweep"
    assert main(sweep_args(weights, out)) == 0
    return out
