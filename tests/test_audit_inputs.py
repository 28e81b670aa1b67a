"""Issue 23 audit, item by item, on real commands: each finding that was fixed is a regression test here.

- ``--out`` that cannot be created although ``os.access`` says yes (root: ``/proc``): refused before any work by
  every command that writes (``table``, ``explore``, ``sweep``, ``visualize``, ``train``, ``evaluate``, ``paths``);
  ``explore`` and ``sweep`` below a regular file named ``--out`` (they reported ``[Errno 20]`` after work);
- ``check --d 10**12`` asked numpy for 7 TiB (traceback); ``--d`` and the instance's points are limited;
- ``sweep --size 4096`` and ``--batch 4096`` at 224 px had no memory estimate (ran into the allocator);
- image folders: corrupt pixel data (PNG with a bad IDAT stream, truncated BMP) and a 100000 x 1 strip (the resize
  to 256 px asks for 6.5 G pixels) were tracebacks after the model was loaded; now exit 2 naming the file, before;
- a cache write killed by SIGTERM left its temporary file; SIGKILL still can, and the next access removes it.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from empirical import _cache as C
from fvtrust import cli

ROOT = Path(__file__).resolve().parents[1]
QUICK = 10.0  # seconds: a refusal comes before any work


class Tripwire(BaseException):
    """Raised by a stand-in for real work."""


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FVTRUST_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FVTRUST_DEBUG", raising=False)
    return tmp_path / "cache"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, float]:
    started = time.perf_counter()
    status = cli.main(argv)
    err = capsys.readouterr().err
    return status, err, time.perf_counter() - started


# ---------------------------------------------------------------------------------------------------------------
# --out that cannot be written
# ---------------------------------------------------------------------------------------------------------------
WRITERS = {
    "table": ["table", "--no-verify", "--out", "{out}"],
    "table-witnesses": ["table", "--no-verify", "--out", "{ok}", "--export-witnesses", "{out}"],
    "explore": ["explore", "lipschitz", "--L", "1", "--out", "{out}"],
    "sweep": ["sweep", "--model", "mobilenet_v2", "--layer", "logits", "--units", "0", "--out", "{out}"],
    "visualize": ["visualize", "--model", "mobilenet_v2", "--unit", "logits:0", "--out", "{out}"],
    "paths": ["paths", "--model", "fashion_cnn", "--out", "{out}"],
    "train": ["train", "fashion_cnn", "--out", "{out}/w.pt"],
    "bridge": ["bridge", "--model", "fashion_cnn", "--unit", "features.3:5", "--out", "{out}"],
    "fool": ["fool", "--model", "fashion_cnn", "--method", "circuit", "--out", "{out}"],
}


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("where", ["below-a-file", "proc"])
def test_unwritable_out_is_refused_before_any_work(
    name: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if where == "proc":
        if not Path("/proc").is_dir() or not os.access("/proc", os.W_OK):
            pytest.skip("needs /proc that os.access calls writable (root)")
        out = "/proc/fvtrust-audit"
    else:
        blocker = tmp_path / "blocker"
        blocker.write_text("x")
        out = str(blocker / "sub")
    from empirical.models import _fashion_cnn

    def trip(*args: object, **kwargs: object) -> None:
        raise Tripwire("training started")

    monkeypatch.setattr(_fashion_cnn, "_train", trip)
    argv = [a.format(out=out, ok=tmp_path / "ok") for a in WRITERS[name]]
    status, err, seconds = _run(argv, capsys)
    assert status == 2 and ("--out" in err or "--export-witnesses" in err), err
    assert err.count("\n") == 1 and "Errno" not in err and "Traceback" not in err, err
    assert seconds < QUICK
    assert not (tmp_path / "ok").exists()
    assert not list(tmp_path.glob("**/.fvtrust-probe-*"))


def test_evaluate_out_in_proc_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not os.access("/proc", os.W_OK):
        pytest.skip("needs root")
    folder = _folder(tmp_path, "ok", None)
    status, err, _ = _run(["evaluate", "--model", "mobilenet_v2", "--imagenet-dir", str(folder),
                           "--out", "/proc/r.json"], capsys)  # fmt: skip
    assert status == 2 and "--out '/proc/r.json'" in err


# ---------------------------------------------------------------------------------------------------------------
# size limits
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["check", "lipschitz", "--L", "1", "--d", "1000000000000"], "--d must be an integer in 1..100"),
        (["check", "affine", "--d", "0"], "--d must be an integer in 1..100"),
        (
            [
                "check",
                "lipschitz",
                "--L",
                "1",
                "--x-max",
                ",".join(["1"] * 101),
                "--f-max",
                "1",
                "--x-min",
                "0",
                "--f-min",
                "0",
                "--x",
                "0",
            ],
            "--x-max must have 1..100 coordinates",
        ),  # fmt: skip
        (["sweep", "--model", "mobilenet_v2", "--layer", "logits", "--units", "0", "--size", "4096"], "needs about"),
        (
            ["sweep", "--model", "mobilenet_v2", "--layer", "logits", "--units", "0-4095", "--batch", "4096"],
            "smaller --batch",
        ),  # fmt: skip
        (["paths", "--model", "fashion_cnn", "--device", "nosuch"], "device 'nosuch' is not one of cpu"),
    ],
    ids=["check-d-huge", "check-d-0", "check-points", "sweep-size", "sweep-batch", "paths-device"],
)
def test_size_limits_before_any_work(
    argv: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if argv[0] in ("sweep", "paths"):
        argv = [*argv, "--out", str(tmp_path / "out")]
    status, err, seconds = _run(argv, capsys)
    assert status == 2 and words in err and "Traceback" not in err, err
    assert seconds < QUICK
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------------
# image folders
# ---------------------------------------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _bad_file(kind: str) -> tuple[str, bytes]:
    rng = np.random.default_rng(0)
    if kind == "junk":
        return "x.jpg", rng.bytes(5000)
    if kind == "bomb":  # a 30000 x 30000 header: 900 M pixels
        return "x.png", _png(30000, 30000, zlib.compress(b"\0" * 1000))
    if kind == "corrupt-png":  # header, CRCs and end chunk fine, pixel stream garbage
        return "x.png", _png(64, 64, rng.bytes(2000))
    buf = io.BytesIO()
    if kind == "truncated-bmp":
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "BMP")
        return "x.bmp", buf.getvalue()[: len(buf.getvalue()) // 3]
    if kind == "truncated-png":
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
        return "x.png", buf.getvalue()[: len(buf.getvalue()) // 2]
    assert kind == "strip"  # 100000 x 1: tiny file, 6.5 G pixels after resizing the shorter side to 256
    Image.fromarray(np.zeros((1, 100000, 3), dtype=np.uint8)).save(buf, "PNG")
    return "x.png", buf.getvalue()


def _folder(tmp_path: Path, name: str, kind: str | None) -> Path:
    folder = tmp_path / name / "n01440764"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((40, 40, 3), 128, dtype=np.uint8)).save(folder / "good.png")
    if kind is not None:
        file, data = _bad_file(kind)
        (folder / file).write_bytes(data)
    return folder.parent


KINDS = {
    "junk": "is not a readable image",
    "bomb": "possible decompression bomb",
    "corrupt-png": "its data does not decode",
    "truncated-bmp": "its data does not decode",
    "truncated-png": "is truncated",
    "strip": "too elongated",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("command", ["evaluate", "paths"])
def test_bad_images_are_refused_by_name_before_the_model_loads(
    kind: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import empirical.models

    def trip(*args: object, **kwargs: object) -> None:
        raise Tripwire("model loaded")

    monkeypatch.setattr(empirical.models, "load_model", trip)
    folder = _folder(tmp_path, "imgs", kind)
    argv = {
        "evaluate": ["evaluate", "--model", "mobilenet_v2", "--imagenet-dir", str(folder), "--no-progress"],
        "paths": [
            "paths",
            "--model",
            "mobilenet_v2",
            "--imagenet-dir",
            str(folder),
            "--out",
            str(tmp_path / "o"),
            "--min-photos",
            "3",
        ],  # fmt: skip
    }[command]
    status, err, seconds = _run(argv, capsys)
    assert status == 2 and KINDS[kind] in err and "n01440764/x." in err and "Traceback" not in err, err
    assert seconds < QUICK


def test_load_image_refuses_a_strip_and_corrupt_data_by_name(tmp_path: Path) -> None:
    from empirical.data import check_image_file, load_image

    for kind in ("strip", "corrupt-png"):
        name, data = _bad_file(kind)
        path = tmp_path / f"{kind}-{name}"
        path.write_bytes(data)
        with pytest.raises(ValueError, match=path.name):
            load_image(path)
        with pytest.raises(ValueError, match=path.name):
            check_image_file(path, resize=256)
    good = _folder(tmp_path, "ok", None) / "n01440764" / "good.png"
    check_image_file(good, resize=256)
    assert load_image(good).shape == (3, 224, 224)


# ---------------------------------------------------------------------------------------------------------------
# cache temporaries
# ---------------------------------------------------------------------------------------------------------------
_WRITER = """
import sys, time
from pathlib import Path
from empirical import _cache as C

def slow(p: Path) -> None:
    p.write_bytes(b"half")
    print("writing", flush=True)
    time.sleep(60)

C.save_entry(sys.argv[1], slow)
"""


def _writer(key: str, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "FVTRUST_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, key], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    return proc


def _temporaries(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*.tmp"))


def test_sigterm_during_a_cache_write_leaves_no_temporary(cache: Path) -> None:
    proc = _writer("m/w.pt", cache)
    assert len(_temporaries(cache)) == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert _temporaries(cache) == []
    assert not C.cache_path("m/w.pt").exists()


def test_a_killed_writers_temporary_is_removed_on_the_next_access_not_a_live_ones(cache: Path) -> None:
    dead = _writer("m/w.pt", cache)
    dead.kill()  # SIGKILL: nothing can clean up
    dead.wait(timeout=30)
    [left] = _temporaries(cache)
    assert left.startswith(".w.pt.")
    live = _writer("m/w.pt.b", cache)  # another entry whose name starts like it, being written right now
    try:
        assert len(_temporaries(cache)) == 2
        with pytest.raises(ValueError, match="is missing"):
            C.load_entry("m/w.pt", Path.read_bytes)  # the next access under the entry's lock
        assert [t for t in _temporaries(cache) if t.startswith(".w.pt.") and not t.startswith(".w.pt.b.")] == []
        assert len([t for t in _temporaries(cache) if t.startswith(".w.pt.b.")]) == 1  # the live writer's stays
    finally:
        live.kill()
        live.wait(timeout=30)
    C.save_entry("m/w.pt.b", lambda p: p.write_bytes(b"ok"))  # the next write removes the second one
    assert _temporaries(cache) == []
    assert C.load_entry("m/w.pt.b", Path.read_bytes) == b"ok"


def test_an_own_sigterm_handler_is_left_alone(cache: Path) -> None:
    seen: list[int] = []
    old = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        C.save_entry("x.bin", lambda p: (p.write_bytes(b"1"), os.kill(os.getpid(), signal.SIGTERM)))
        assert seen == [signal.SIGTERM] and C.load_entry("x.bin", Path.read_bytes) == b"1"
    finally:
        signal.signal(signal.SIGTERM, old)
    assert signal.getsignal(signal.SIGTERM) is old
