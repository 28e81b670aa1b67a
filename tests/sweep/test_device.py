"""``resolve_device``: cpu / cuda / cuda:N checked against the hardware present; LOCAL_RANK picks the GPU."""

from __future__ import annotations

import pytest
import torch

from empirical._device import resolve_device


@pytest.fixture
def no_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)


def test_cpu(no_torchrun: None) -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


@pytest.mark.parametrize("spec", ["gpu", "cuda:", "cuda:-1", "cpu:1", "cuda:0:1", "mps", ""])
def test_unknown_specs_name_the_value_and_what_is_present(spec: str, no_torchrun: None) -> None:
    with pytest.raises(ValueError, match=r"present: cpu") as err:
        resolve_device(spec)
    assert repr(spec) in str(err.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_refused(spec: str, no_torchrun: None) -> None:
    with pytest.raises(ValueError, match=r"no CUDA device present.*present: cpu"):
        resolve_device(spec)
    assert resolve_device(None) == torch.device("cpu")


def test_gpus_by_index_and_by_local_rank(two_gpus: None, no_torchrun: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    with pytest.raises(ValueError, match=r"no such GPU; present: cpu, cuda:0, cuda:1"):
        resolve_device("cuda:2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert resolve_device("cuda") == torch.device("cuda", 1)
    assert resolve_device(None) == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="would share one GPU"):
        resolve_device("cuda:0")
    monkeypatch.setenv("LOCAL_RANK", "2")
    with pytest.raises(ValueError, match="LOCAL_RANK 2 has no GPU"):
        resolve_device("cuda")
