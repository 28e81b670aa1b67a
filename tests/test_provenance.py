"""empirical._provenance: the record every result file carries (commit, seeds, config, data source and file list,
weight hashes, versions, timing), and the records of the committed result files."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from empirical._provenance import (
    file_list_sha256,
    git_commit,
    provenance,
    sha256_bytes,
    sha256_file,
    start_clock,
    to_json,
)

ROOT = Path(__file__).resolve().parents[1]
HEX64 = re.compile(r"^[0-9a-f]{64}$")
COMMIT = re.compile(r"^[0-9a-f]{40}(\+dirty)?$")
KEYS = {
    "commit",
    "version",
    "seeds",
    "config",
    "data",
    "weights_sha256",
    "torch",
    "device",
    "threads",
    "wall_s",
    "cpu_s",
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


# --- commit -------------------------------------------------------------------------------------------------------


@needs_git
def test_git_commit_is_head_and_marks_changed_tracked_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.txt").write_text("one\n")
    _git(repo, "add", "a.txt")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo) == head
    (repo / "new.txt").write_text("untracked\n")  # untracked files do not make the tree dirty
    assert git_commit(repo) == head
    (repo / "a.txt").write_text("two\n")
    assert git_commit(repo) == head + "+dirty"
    _git(repo, "commit", "-q", "-am", "second")
    assert git_commit(repo) == _git(repo, "rev-parse", "HEAD") != head


def test_git_commit_outside_a_checkout_is_none(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None


@needs_git
def test_this_checkout_has_a_commit() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    c = git_commit()
    assert c is not None and COMMIT.match(c), c


# --- hashes -------------------------------------------------------------------------------------------------------


def test_sha256_file_matches_hashlib_across_chunk_boundaries(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5 + b"tail"
    f = tmp_path / "w.bin"
    f.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    assert sha256_file(f) == want
    assert sha256_file(str(f), chunk=7) == want  # many reads, last one partial
    f.write_bytes(data[:-1] + b"X")
    assert sha256_file(f) != want


def test_sha256_bytes_of_bytes_and_of_state_dicts() -> None:
    assert sha256_bytes(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert sha256_bytes(bytearray(b"abc")) == hashlib.sha256(b"abc").hexdigest()
    sd = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.zeros(3), "e": torch.empty(0)}
    h = sha256_bytes(sd)
    assert HEX64.match(h)
    assert sha256_bytes(dict(reversed(list(sd.items())))) == h  # name order, not insertion order
    assert sha256_bytes({**sd, "w": sd["w"].t().contiguous().t()}) == h  # layout does not matter
    changed = [
        {**sd, "w": sd["w"] + 1e-6},  # a value
        {**sd, "w": sd["w"].reshape(3, 2)},  # the shape, same bytes
        {**sd, "w": sd["w"].double()},  # the dtype
        {"W": sd["w"], "b": sd["b"], "e": sd["e"]},  # a name
        {"w": sd["w"], "b": sd["b"]},  # a missing entry
    ]
    assert len({h, *(sha256_bytes(c) for c in changed)}) == len(changed) + 1


def test_file_list_sha256_is_relative_to_the_common_folder(tmp_path: Path) -> None:
    def files(root: Path) -> list[Path]:
        out = [root / "n01" / "a.jpg", root / "n01" / "b.jpg", root / "n02" / "c.jpg"]
        for f in out:
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(b"x")
        return out

    a, b = files(tmp_path / "machine1" / "data"), files(tmp_path / "elsewhere")
    h = file_list_sha256(a)
    assert h == file_list_sha256(b)  # the same images on another machine
    assert h == hashlib.sha256(b"n01/a.jpg\nn01/b.jpg\nn02/c.jpg").hexdigest()
    assert file_list_sha256(list(reversed(a))) != h  # the order is part of the record
    assert file_list_sha256(a[:2]) != h
    assert file_list_sha256([a[0]]) == hashlib.sha256(b"a.jpg").hexdigest()
    assert file_list_sha256([]) == hashlib.sha256(b"").hexdigest()


# --- JSON ----------------------------------------------------------------------------------------------------------


@dataclass
class _Cfg:
    name: str
    sizes: tuple[int, ...]
    where: Path


def test_to_json_makes_configs_json_safe(tmp_path: Path) -> None:
    value = {
        "path": tmp_path, "tuple": (1, 2.5), "tensor": torch.tensor([1.0, 2.0]), "device": torch.device("cpu"),
        "cfg": _Cfg("e", (64, 32), Path("x/y")), 3: None, "flag": True,
    }  # fmt: skip
    out = to_json(value)
    assert out == {
        "path": str(tmp_path), "tuple": [1, 2.5], "tensor": [1.0, 2.0], "device": "cpu",
        "cfg": {"name": "e", "sizes": [64, 32], "where": "x/y"}, "3": None, "flag": True,
    }  # fmt: skip
    assert json.loads(json.dumps(out)) == out


# --- the record --------------------------------------------------------------------------------------------------


def test_provenance_records_commit_seeds_config_data_and_weights(tmp_path: Path) -> None:
    photos = [tmp_path / "imgs" / "n01" / "a.jpg", tmp_path / "imgs" / "n02" / "b.jpg"]
    for f in photos:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"jpeg")
    weights_file = tmp_path / "model.pt"
    weights_file.write_bytes(b"weights")
    sd = {"w": torch.ones(2)}
    rec = provenance(
        {"model": "m", "steps": 48, "out": tmp_path, "sizes": (1, 2)},
        [7, 8, 9],
        "imagenet folder",
        photos,
        {"model": weights_file, "raw": b"abc", "detector": sd, "as_str": str(weights_file)},
        start_clock(),
        device=torch.device("cpu"),
    )
    assert set(rec) == KEYS
    assert rec["commit"] == git_commit()
    assert rec["seeds"] == [7, 8, 9]
    assert rec["config"] == {"model": "m", "steps": 48, "out": str(tmp_path), "sizes": [1, 2]}
    assert rec["data"] == {"source": "imagenet folder", "n_files": 2, "file_list_sha256": file_list_sha256(photos)}
    assert rec["weights_sha256"] == {
        "model": hashlib.sha256(b"weights").hexdigest(),
        "raw": hashlib.sha256(b"abc").hexdigest(),
        "detector": sha256_bytes(sd),
        "as_str": hashlib.sha256(b"weights").hexdigest(),
    }
    assert rec["torch"] == torch.__version__
    assert rec["device"] == "cpu"
    assert rec["threads"] == torch.get_num_threads()
    assert rec["wall_s"] is not None and rec["wall_s"] >= 0 and rec["cpu_s"] is not None and rec["cpu_s"] >= 0
    assert json.loads(json.dumps(rec)) == rec


def test_provenance_seed_forms_and_missing_parts() -> None:
    rec = provenance({}, 3, None, None, None, None)
    assert rec["seeds"] == [3]
    assert rec["data"] is None and rec["weights_sha256"] == {}
    assert rec["wall_s"] is None and rec["cpu_s"] is None
    assert rec["device"] == "cpu"
    assert provenance({}, None, None, None, None, None)["seeds"] == []
    assert provenance({}, range(2), None, None, None, None)["seeds"] == [0, 1]
    only_source = provenance({}, 0, "Fashion-MNIST test split", None, None, None)["data"]
    assert only_source == {"source": "Fashion-MNIST test split", "n_files": None, "file_list_sha256": None}


def test_provenance_of_an_image_folder_uses_its_own_file_list_hash() -> None:
    class Folder:  # the interface of empirical.data.ImageFolderData that provenance uses
        files = ["a", "b", "c"]

        def file_list_sha256(self) -> str:
            return "f" * 64

    data = provenance({}, 0, "folder", Folder(), None, None)["data"]
    assert data == {"source": "folder", "n_files": 3, "file_list_sha256": "f" * 64}


def test_provenance_of_a_missing_weights_file_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        provenance({}, 0, None, None, {"model": tmp_path / "absent.pt"}, None)


# --- the committed result files ----------------------------------------------------------------------------------

RECORDED = sorted(
    f
    for pattern in ("fooling_imagenet_*.json", "paths_imagenet_*.json", "inceptionv1_equivalence.json")
    for f in (ROOT / "benchmarks" / "results").glob(pattern)
)


@pytest.mark.skipif(not RECORDED, reason="no result files with provenance records")
@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_result_files_carry_a_full_record(path: Path) -> None:
    rec = json.loads(path.read_text())["provenance"]
    assert set(rec) >= KEYS, f"{path.name}: missing {KEYS - set(rec)}"
    assert COMMIT.match(str(rec["commit"])), rec["commit"]
    assert rec["seeds"] and all(isinstance(s, int) for s in rec["seeds"])
    assert isinstance(rec["config"], dict) and rec["config"]
    for name, sha in rec["weights_sha256"].items():
        assert HEX64.match(sha), (name, sha)
    if path.name.startswith(("fooling_imagenet_", "paths_imagenet_")):  # runs on real photos with real weights
        assert rec["data"]["source"] and rec["data"]["n_files"] > 0
        assert HEX64.match(rec["data"]["file_list_sha256"])
        assert "model" in rec["weights_sha256"]
    seeds = rec["config"].get("seeds")  # a list of seeds, or (paths) the number of seeds 0, 1, ...
    assert rec["seeds"] == (list(range(seeds)) if isinstance(seeds, int) else seeds or rec["seeds"])
