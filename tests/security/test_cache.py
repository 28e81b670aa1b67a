"""The cache's guarantees (issue 23.6): checksums, atomic replacement, per-entry locks, rebuild of damaged
entries, symlinks never followed, ``fvtrust cache list | verify | clear``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from empirical import _cache as C

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FVTRUST_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _write(data: bytes):
    return lambda p: p.write_bytes(data)


def test_round_trip_and_manifest(cache):
    path = C.save_entry("fooling/a.pt", _write(b"weights"))
    assert path == C.cache_path("fooling/a.pt") and path.read_bytes() == b"weights"
    assert C.load_entry("fooling/a.pt", Path.read_bytes) == b"weights"
    assert [r["key"] for r in C.list_cache()] == ["fooling/a.pt"]
    assert all(r["ok"] for r in C.verify_cache())
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary left


def test_bit_flip_is_detected_and_rebuilt_with_a_warning(cache):
    path = C.save_entry("m/w.pt", _write(bytes(range(256))))
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0x01
    path.write_bytes(bytes(raw))
    [row] = C.verify_cache()
    assert not row["ok"] and "sha256" in row["problem"]
    with pytest.raises(ValueError, match="cache entry m/w.pt"):
        C.load_entry("m/w.pt", Path.read_bytes)
    with pytest.warns(UserWarning, match="cache entry m/w.pt"):
        out = C.load_entry("m/w.pt", Path.read_bytes, rebuild=_write(bytes(range(256))))
    assert out == bytes(range(256)) and all(r["ok"] for r in C.verify_cache())


def test_truncated_entry_and_unreadable_entry_are_rebuilt(cache):
    path = C.save_entry("e.bin", _write(b"x" * 1000))
    path.write_bytes(b"x" * 10)
    with pytest.warns(UserWarning, match="e.bin"):
        assert C.load_entry("e.bin", Path.read_bytes, rebuild=_write(b"y")) == b"y"

    def picky(p: Path) -> bytes:
        if p.read_bytes() == b"y":
            raise RuntimeError("bad format")
        return p.read_bytes()

    with pytest.warns(UserWarning, match="e.bin cannot be read"):
        assert C.load_entry("e.bin", picky, rebuild=_write(b"z")) == b"z"


def test_missing_entry_is_built_silently(cache):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert C.load_entry("new.bin", Path.read_bytes, rebuild=_write(b"n")) == b"n"
    with pytest.raises(ValueError, match="other.bin"):
        C.load_entry("other.bin", Path.read_bytes)


def test_bad_keys_are_refused():
    for key in ("../x", "/etc/passwd", "a/../../b", "", ".locks/x", "manifest.json", "a b"):
        with pytest.raises(ValueError, match="cache key"):
            C.cache_path(key)


def test_symlink_at_the_entry_is_replaced_not_followed(cache, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    cache.mkdir(parents=True, exist_ok=True)
    os.symlink(victim, cache / "w.pt")
    C.save_entry("w.pt", _write(b"new"))
    assert victim.read_text() == "precious"
    assert not (cache / "w.pt").is_symlink() and (cache / "w.pt").read_bytes() == b"new"


def test_symlink_at_a_temporary_name_is_not_followed(cache, tmp_path, monkeypatch):
    """An attacker who plants symlinks at every name the old code used (fixed '.tmp') and at the name mkstemp is
    about to try gets nothing: mkstemp creates with O_EXCL and moves on to another name."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("w.pt.tmp", "w.tmp", ".w.pt.tmp"):
        os.symlink(victim, cache / name)
    import itertools
    import tempfile

    names = itertools.chain(["planted", "planted"], (f"fresh{i}" for i in itertools.count()))
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)
    os.symlink(victim, cache / ".w.pt.planted.tmp")
    C.save_entry("w.pt", _write(b"data"))
    assert victim.read_text() == "precious"
    assert (cache / "w.pt").read_bytes() == b"data"


_WRITER = """
import sys
from pathlib import Path
from empirical import _cache as C
tag = sys.argv[1].encode()
for i in range(int(sys.argv[2])):
    def w(p, i=i):
        with open(p, "wb") as f:
            for _ in range(64):
                f.write(tag * 4096)  # 256 KiB, written in pieces: a torn file would mix or cut them
    C.save_entry("race/entry.bin", w)
"""


def test_two_processes_writing_one_entry_never_leave_a_torn_file(cache):
    env = {**os.environ, "FVTRUST_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, tag, "15"], cwd=ROOT, env=env) for tag in ("A", "B")]
    seen = set()
    while any(p.poll() is None for p in procs):
        path = C.cache_path("race/entry.bin")
        if path.exists():
            data = path.read_bytes()  # a reader without the lock still sees whole files only (os.replace)
            assert data in (b"A" * 262144, b"B" * 262144), (len(data), set(data))
            seen.add(data[:1])
    assert all(p.wait() == 0 for p in procs)
    assert all(r["ok"] for r in C.verify_cache())
    assert C.load_entry("race/entry.bin", Path.read_bytes) in (b"A" * 262144, b"B" * 262144)
    assert not [p for p in C.cache_path("race/entry.bin").parent.iterdir() if p.name.endswith(".tmp")]


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fvtrust", "cache", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_cli_list_verify_clear(cache):
    C.save_entry("a.bin", _write(b"a"))
    C.save_entry("d/b.bin", _write(b"b"))
    (cache / "not_ours.txt").write_text("user file")
    out = _cli("list", "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(e["key"] for e in json.loads(out.stdout)["entries"]) == ["a.bin", "d/b.bin"]
    assert json.loads(_cli("verify", "--json").stdout)["ok"] is True
    C.cache_path("a.bin").write_bytes(b"tampered")
    out = _cli("verify", "--json")
    doc = json.loads(out.stdout)
    assert out.returncode == 1 and not doc["ok"]
    assert [e["key"] for e in doc["entries"] if not e["ok"]] == ["a.bin"]
    out = _cli("clear")
    assert out.returncode == 0 and "removed 2" in out.stdout
    assert not C.cache_path("a.bin").exists() and not C.cache_path("d/b.bin").exists()
    assert (cache / "not_ours.txt").read_text() == "user file"
    assert _cli("verify").returncode == 0


def test_a_symlinked_folder_never_leads_clear_or_verify_out_of_the_cache(cache, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "x.pt").write_text("not the cache's")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "sub").symlink_to(victim)
    (cache / "manifest.json").write_text(json.dumps({"version": 1, "entries": {"sub/x.pt": {"sha256": "00"}}}))
    with pytest.raises(ValueError, match="leads out of the cache folder"):
        C.cache_path("sub/x.pt")
    with pytest.warns(UserWarning, match="ignored"):
        assert C.clear_cache() == [] and C.verify_cache() == []
    assert (victim / "x.pt").read_text() == "not the cache's"
    with pytest.raises(ValueError, match="leads out"):
        C.save_entry("sub/y.pt", _write(b"y"))
    assert not (victim / "y.pt").exists()


@pytest.mark.parametrize(
    "manifest",
    [
        '{"entries": {"a.pt": "x"}}',  # a record that is not an object
        '{"entries": {"a.pt": {"sha256": "00", "key": "other", "path": "/etc/shadow"}}}',  # fields that would override
        '{"entries": ' + "[" * 100000 + "]" * 100000 + "}",  # nested too deep for the parser
        '{"entries": {"a.pt": {"sha256": "00"}, "zz/..": {"sha256": "00"}}}',  # one bad key among good ones
    ],
)
def test_a_damaged_manifest_is_read_safely_and_clear_is_all_or_nothing(cache, manifest):
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "a.pt").write_text("a")
    (cache / "manifest.json").write_text(manifest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = C.list_cache()
        assert all(r["key"] == "a.pt" and r["path"] == str(cache / "a.pt") for r in rows)
        out = _cli("list")
        assert out.returncode == 0 and "Traceback" not in out.stderr
        C.clear_cache()
    assert "Traceback" not in _cli("verify").stderr


def test_a_cache_location_that_is_a_file_is_refused_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("FVTRUST_CACHE", str(tmp_path / "afile"))
    out = _cli("list")
    assert out.returncode == 2 and "FVTRUST_CACHE" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_symlinked_lock_folder_is_refused(cache, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache.mkdir(parents=True, exist_ok=True)
    (cache / ".locks").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="lock folder"):
        C.save_entry("a.bin", _write(b"a"))
    assert list(elsewhere.iterdir()) == []
