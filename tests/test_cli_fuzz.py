"""Command-line fuzz test: every sub-command, given a bad value, a junk file or an unwritable path, ends with exit
status 0 or 2 and never a traceback, fast (validation comes before any work), leaving no output behind.

Each case starts from a valid, cheap command line of one sub-command and replaces one argument by a value that
hypothesis draws from that argument's bad values (junk files are written from drawn bytes). A watchdog stops a
call that runs longer than ``FVTRUST_FUZZ_SECONDS`` (default 20; 3 for the cases known to fail, so that they fail
fast): that command started working before it checked its input. Everything runs in a scratch folder with an
empty ``FVTRUST_CACHE``.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fvtrust import cli

SECONDS = float(os.environ.get("FVTRUST_FUZZ_SECONDS", "20"))
XFAIL_SECONDS = 3.0  # known failures: stop them early (a fixed command checks its input in well under a second)
EXAMPLES = int(os.environ.get("FVTRUST_FUZZ_EXAMPLES", "5"))


class TooSlow(BaseException):
    """Raised by the watchdog; a BaseException so that no ``except Exception`` in a command swallows it."""


# ---------------------------------------------------------------------------------------------------------------
# Bad values
# ---------------------------------------------------------------------------------------------------------------
_JUNK_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_NOT_A_NUMBER = st.sampled_from(["", "abc", "1,2", "0x", "one", "--", "1e", "NaNx", "🙂"])
_NON_FINITE = st.sampled_from(["nan", "inf", "-inf", "NaN", "1e309", "-1e309"])


def _ints(*, low: int, high: int) -> st.SearchStrategy[str]:
    """Integers outside ``[low, high]``, and text that is not an integer."""
    return st.one_of(
        st.integers(max_value=low - 1).map(str),
        st.integers(min_value=high + 1).map(str),
        _NOT_A_NUMBER,
        st.sampled_from(["1.5", "nan", "inf"]),
    )


COUNT = _ints(low=1, high=10**6 - 1)  # sizes: steps, images, batch, ...; 10**6 or more is never cheap here
# Where a command documents its own limits (``fvtrust paths``: docs/paths.md), the bad values are those outside them.
HUGE_COUNT = st.sampled_from(["0", "-1", "1000000000000", "99999999999999999999", "x", "nan"])
NONNEG = st.one_of(st.integers(max_value=-1).map(str), _NOT_A_NUMBER, st.sampled_from(["1.5", "99" * 20]))
REAL_POS = st.one_of(_NON_FINITE, _NOT_A_NUMBER, st.floats(max_value=0, allow_nan=False).map(repr))
REAL = st.one_of(_NON_FINITE, _NOT_A_NUMBER)
EPS = st.one_of(_NON_FINITE, _NOT_A_NUMBER, st.sampled_from(["0", "0.5", "1", "-0.1", "7"]))
NAME = st.one_of(
    _JUNK_TEXT.filter(lambda s: not s.startswith("-")), st.sampled_from(["resnet9000", "x", "../x", "/etc/passwd"])
)
UNIT = st.sampled_from(["", "a", "a:b", ":1", "x:-1", "logits:1e3", "logits:", "logits:1:2", " : ", "logits:-0"])
DEVICE = st.sampled_from(["nosuch", "cuda", "cuda:7", "cpu:x", "", "mps", "xla", "cuda:-1", "gpu"])
NORM = st.sampled_from(["3", "0", "-1", "two", "", "nan", "l2"])
VECTOR = st.sampled_from(["", "a,b", "1,2,3", "nan,0", "inf,1", "1,,2", "1;2", "1e309,0"])
SPEC = st.sampled_from(["", "a-b", "5-1", "random:", "random:0", "random:-3", "0-99999999999", "1,,x", "-"])


@dataclass(frozen=True)
class Paths:
    """The scratch folder's fixed paths."""

    root: Path
    blocker: Path  # a regular file
    under_file: Path  # a path below a regular file: never writable, never creatable
    missing: Path  # does not exist
    a_dir: Path  # an existing directory (where a file is expected)
    images: Path  # a small valid ImageNet-style folder: two WordNet-id classes, six JPEGs each
    empty_dir: Path
    junk_images: Path  # a class folder whose JPEGs are junk bytes


_FILE_KINDS = ("missing", "a_dir", "junk", "empty")
_OUT_KINDS = ("under_file", "blocker")
_DIR_KINDS = ("missing", "blocker", "empty_dir", "junk_images")


@dataclass(frozen=True)
class Arg:
    """One argument to spoil: ``flag`` (``None``: the first positional) and its bad values."""

    flag: str | None
    values: st.SearchStrategy[str] | None = None  # text values; None: ``paths`` chooses a path kind
    paths: tuple[str, ...] = ()


def _out(flag: str = "--out") -> Arg:
    return Arg(flag, paths=_OUT_KINDS)


def _infile(flag: str) -> Arg:
    return Arg(flag, paths=_FILE_KINDS)


#: Per sub-command: a valid, cheap command line ({out} is a fresh output path, {images} the image folder) and the
#: arguments to spoil.
COMMANDS: dict[str, tuple[list[str], list[Arg]]] = {
    "table": (["--out", "{out}", "--no-compare"], [_out(), _out("--export-witnesses"), Arg("--format", NAME)]),
    "check": (
        ["lipschitz", "--L", "1", "--d", "2"],
        [Arg(None, NAME), Arg("--d", HUGE_COUNT), Arg("--L", REAL_POS), Arg("--norm", NORM), Arg("--eps", EPS)],
    ),
    "check-instance": (
        ["convex", "--d", "1", "--x-max", "1", "--f-max", "1", "--x-min", "0", "--f-min", "0", "--x", "0.3"],
        [Arg("--x", VECTOR), Arg("--x-max", VECTOR), Arg("--f-max", REAL), Arg("--f-min", REAL)],
    ),
    "models": (["--model", "mobilenet_v2"], [Arg("--model", NAME), _infile("--weights")]),
    "train": (
        ["fashion_cnn", "--epochs", "1", "--out", "{out}/w.pt"],
        [Arg(None, NAME), Arg("--epochs", COUNT), Arg("--seed", NONNEG), _out()],
    ),
    "visualize": (
        ["--model", "mobilenet_v2", "--unit", "logits:1", "--out", "{out}", "--steps", "1", "--natural", "1"],
        [
            Arg("--model", NAME),
            Arg("--unit", UNIT),
            Arg("--steps", COUNT),
            Arg("--size", COUNT),
            _out(),
            Arg("--device", DEVICE),
            _infile("--weights"),
            Arg("--natural", NONNEG),
            Arg("--seed", NONNEG),
        ],
    ),
    "fool": (
        ["--model", "mobilenet_v2", "--method", "circuit", "--quick", "--out", "{out}", "--no-progress"],
        [
            Arg("--model", NAME),
            Arg("--method", NAME),
            Arg("--target", st.sampled_from(["", "image:", "image:nosuchphoto", "blah", "image:test99999999"])),
            _out(),
            Arg("--c", REAL_POS),
            Arg("--k", REAL_POS),
            Arg("--alpha", REAL_POS),
            Arg("--seed", NONNEG),
            Arg("--device", DEVICE),
        ],
    ),
    "paths": (
        ["--model", "mobilenet_v2", "--imagenet-dir", "{images}", "--out", "{out}", "--no-progress", "--steps", "1"],
        [
            Arg("--model", NAME),
            _infile("--weights"),
            Arg("--imagenet-dir", paths=_DIR_KINDS),
            _out(),
            Arg("--classes", _ints(low=2, high=100_000)),
            Arg("--images-per-class", _ints(low=1, high=10**6)),
            Arg("--seeds", _ints(low=1, high=1000)),
            Arg("--steps", _ints(low=0, high=100_000)),
            Arg("--metrics", NAME),
            Arg("--pooling", NAME),
            Arg("--bootstrap", _ints(low=0, high=10**6)),
            Arg("--image-buckets", _ints(low=1, high=1000)),
            Arg("--seed", NONNEG),
            Arg("--batch-size", COUNT),
            Arg("--workers", NONNEG),
            Arg("--device", DEVICE),
        ],
    ),
    "explore": (
        ["lipschitz", "--L", "1", "--out", "{out}"],
        [Arg(None, NAME), Arg("--L", REAL_POS), Arg("--norm", NORM), Arg("--eps", EPS), _out()],
    ),
    "evaluate": (
        ["--model", "mobilenet_v2", "--imagenet-dir", "{images}", "--no-progress"],
        [
            Arg("--model", NAME),
            _infile("--weights"),
            Arg("--imagenet-dir", paths=_DIR_KINDS),
            _out(),
            Arg("--batch-size", COUNT),
            Arg("--workers", NONNEG),
            Arg("--device", DEVICE),
        ],
    ),
    "sweep": (
        ["--model", "mobilenet_v2", "--layer", "logits", "--units", "0", "--steps", "1", "--out", "{out}", "--quiet"],
        [
            Arg("--model", NAME),
            Arg("--layer", NAME),
            Arg("--units", SPEC),
            Arg("--seeds", SPEC),
            Arg("--steps", COUNT),
            Arg("--batch", COUNT),
            _out(),
            Arg("--size", COUNT),
            Arg("--device", DEVICE),
        ],
    ),
    "bridge": (
        ["--model", "mobilenet_v2", "--unit", "logits:1", "--out", "{out}", "--quick", "--no-progress"],
        [
            Arg("--model", NAME),
            Arg("--unit", UNIT),
            _out(),
            Arg("--exemplars", NONNEG),
            Arg("--images", COUNT),
            Arg("--steps", COUNT),
            Arg("--seed", NONNEG),
            Arg("--device", DEVICE),
        ],
    ),
}

#: Cases that fail today, each with the reason (owners' files; see the issue named). strict: an unexpected pass
#: means the command was fixed, and the mark must go.
XFAIL: dict[tuple[str, str], str] = {}


def _registered() -> set[str]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(sub.choices)


def _cases() -> Iterator[object]:
    for name, (_, args) in COMMANDS.items():
        for arg in args:
            key = (name, arg.flag or "<positional>")
            marks = [pytest.mark.xfail(strict=True, reason=XFAIL[key])] if key in XFAIL else []
            yield pytest.param(name, arg, marks=marks, id=f"{key[0]}{' ' + key[1]}")


# ---------------------------------------------------------------------------------------------------------------
# The scratch folder
# ---------------------------------------------------------------------------------------------------------------
def _jpeg(path: Path, seed: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path, "JPEG")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paths]:
    root = tmp_path_factory.mktemp("fuzz")
    paths = Paths(
        root=root,
        blocker=root / "blocker",
        under_file=root / "blocker" / "sub",
        missing=root / "missing" / "nothing",
        a_dir=root / "a_dir",
        images=root / "images",
        empty_dir=root / "empty_dir",
        junk_images=root / "junk_images",
    )
    paths.blocker.write_text("a regular file\n")
    for d in (paths.a_dir, paths.empty_dir):
        d.mkdir()
    for k, wnid in enumerate(("n01440764", "n01443537")):
        (paths.images / wnid).mkdir(parents=True)
        for i in range(6):
            _jpeg(paths.images / wnid / f"{wnid}_{i}.JPEG", 10 * k + i)
    (paths.junk_images / "n01440764").mkdir(parents=True)
    for i, data in enumerate([b"", b"\xff\xd8\xff\xe0 truncated", os.urandom(300)]):
        (paths.junk_images / "n01440764" / f"junk_{i}.JPEG").write_bytes(data)
    (root / "cache").mkdir()
    saved = {k: os.environ.get(k) for k in ("FVTRUST_CACHE", "FVTRUST_DEBUG", "OMP_NUM_THREADS")}
    cwd = Path.cwd()
    os.environ["FVTRUST_CACHE"] = str(root / "cache")
    os.environ.pop("FVTRUST_DEBUG", None)
    os.chdir(root)
    try:
        yield paths
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_counter = itertools.count()


def _path_value(kind: str, scratch: Paths, junk: bytes) -> str:
    if kind == "junk":
        path = scratch.root / f"junk_{next(_counter)}.pt"
        path.write_bytes(junk)
        return str(path)
    if kind == "empty":
        path = scratch.root / f"empty_{next(_counter)}.json"
        path.write_bytes(b"")
        return str(path)
    return str(getattr(scratch, kind))


def _argv(name: str, arg: Arg, value: str, scratch: Paths, out: Path) -> list[str]:
    """The valid base command line of ``name`` with ``arg`` set to ``value`` (as ``--flag=value``, so that a value
    starting with "-" stays a value)."""
    base, _ = COMMANDS[name]
    argv = [a.format(out=out, images=scratch.images) for a in base]
    if arg.flag is None:
        argv[0] = value
    elif arg.flag in argv:
        i = argv.index(arg.flag)
        argv[i : i + 2] = [f"{arg.flag}={value}"]
    else:
        argv.append(f"{arg.flag}={value}")
    return [name.split("-")[0], *argv]


def _run(argv: list[str], seconds: float = SECONDS) -> tuple[int, str]:
    """``fvtrust argv`` in this process: (exit status, stderr), under the watchdog."""

    def alarm(signum: int, frame: object) -> None:
        raise TooSlow(f"fvtrust {' '.join(argv)} still running after {seconds:.0f} s: it works before it validates")

    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                status = cli.main(argv)
            except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
                status = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return status, err.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------------------------
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a failing case is reported as found
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize(("name", "arg"), list(_cases()))
def test_bad_argument_is_status_2_not_a_traceback(name: str, arg: Arg, scratch: Paths) -> None:
    command = name.split("-")[0]
    if command not in _registered():
        pytest.skip(f"fvtrust {command} is not installed")
    values = arg.values if arg.values is not None else st.sampled_from(arg.paths)

    @FUZZ
    @given(value=values, junk=st.binary(max_size=256))
    def case(value: str, junk: bytes) -> None:
        if arg.values is None:
            value = _path_value(value, scratch, junk)
        out = scratch.root / f"out_{next(_counter)}"
        argv = _argv(name, arg, value, scratch, out)
        status, err = _run(argv, XFAIL_SECONDS if (name, arg.flag or "<positional>") in XFAIL else SECONDS)
        assert status in (0, 2), f"fvtrust {' '.join(argv)}: exit status {status}\n{err[-2000:]}"
        if status == 2:
            assert "error" in err.lower(), f"fvtrust {' '.join(argv)}: status 2 without an error line"
            assert "Traceback" not in err
            leftovers = sorted(str(p.relative_to(scratch.root)) for p in out.rglob("*")) if out.exists() else []
            assert not leftovers, f"fvtrust {' '.join(argv)}: refused, but left {leftovers[:5]} behind"

    case()


@pytest.mark.parametrize("command", sorted({n.split("-")[0] for n in COMMANDS} | {"cache"}))
def test_junk_tokens_are_status_2_not_a_traceback(command: str, scratch: Paths) -> None:
    """Random tokens after the sub-command: a usage error (2) or, for commands without required arguments, help."""
    if command not in _registered():
        pytest.skip(f"fvtrust {command} is not installed")

    @FUZZ
    @given(tokens=st.lists(_JUNK_TEXT.map(lambda s: "--" + s if s[:1].isalpha() else s), min_size=1, max_size=4))
    def case(tokens: list[str]) -> None:
        status, err = _run([command, *tokens, "--no-such-option-xyz"])
        assert status == 2 and "Traceback" not in err

    case()


def test_watchdog_stops_a_command_that_works_before_it_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzz test can fail: a call still running after the time limit is stopped and reported."""
    monkeypatch.setattr(cli, "main", lambda argv: time.sleep(5) or 0)
    with pytest.raises(TooSlow):
        _run(["check"], seconds=0.2)


def test_a_bad_value_reaches_the_command(scratch: Paths) -> None:
    """The base command lines are right: spoiling an argument gives the command's own error, not a usage error."""
    status, err = _run(_argv("bridge", Arg("--steps"), "0", scratch, scratch.root / "o"))
    assert status == 2 and "fvtrust bridge: error: steps must be" in err


def test_listing_the_zoo_on_an_empty_cache_is_fast(scratch: Paths) -> None:
    """``fvtrust models`` only describes the zoo: it must not train anything (the scratch cache is empty)."""
    status, err = _run(["models"], XFAIL_SECONDS)
    assert status == 0, err[-2000:]
    assert not (scratch.root / "cache" / "fashion_cnn_v1.pt").exists()
