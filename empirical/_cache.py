"""Where trained weights and generated data sets are cached, and how an entry is written, checked and rebuilt.

Guarantees of the entry API (``save_entry``, ``load_entry``):

- every entry has a sha256 in ``manifest.json`` at the cache root; ``load_entry`` checks it before the reader
  sees the file, so a bit flip, a truncated file or an entry written by anything else is detected;
- a write goes to a fresh temporary file in the entry's folder (``mkstemp``: a unique name created with
  ``O_CREAT | O_EXCL``, so an existing file or symlink there is never followed) and is moved into place with
  ``os.replace`` (atomic: readers see the old entry or the new one, never a torn file; a symlink at the entry's
  name is replaced, not written through);
- one inter-process lock per entry (``filelock``, in ``.locks/``) serialises writers and readers of the same
  entry; the manifest has its own lock and is itself written atomically;
- a damaged entry is rebuilt with a warning naming it when a ``rebuild`` writer is given, otherwise
  ``ValueError`` names it;
- no temporary file outlives its writer: SIGTERM and SIGHUP during a write (when they would otherwise end the
  process) raise ``SystemExit`` so the temporary is removed, and a temporary left by a writer that could not clean
  up (SIGKILL, power loss) is removed the next time the entry is read, written or cleared, under the entry's lock,
  which a live writer of that entry would hold. Temporaries are named ``.<entry name>.<8 characters>.tmp``
  (``mkstemp``); entries never start with a dot, so no entry is mistaken for one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

__all__ = [
    "cache_dir", "cache_path", "clear_cache", "list_cache", "load_entry", "save_entry", "verify_cache", "write_atomic",
    "check_output_dir", "writable_ancestor", "can_create_in", "refuse_taken",
]  # fmt: skip

T = TypeVar("T")
MANIFEST = "manifest.json"
LOCKS = ".locks"
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def cache_dir() -> Path:
    """``$FVTRUST_CACHE``, else ``$XDG_CACHE_HOME/fvtrust``, else ``~/.cache/fvtrust``; created on demand."""
    root = os.environ.get("FVTRUST_CACHE")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "fvtrust"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        where = "FVTRUST_CACHE" if root else "the cache folder"
        raise ValueError(f"{where} {path} cannot be used as a folder ({err.strerror or err})") from None
    if not path.is_dir():
        raise ValueError(f"the cache folder {path} is not a folder")
    return path


def _check_key(key: str) -> str:
    parts = key.split("/") if isinstance(key, str) else []
    if not parts or not all(_PART.fullmatch(p) for p in parts) or key in (MANIFEST,) or parts[0] == LOCKS:
        raise ValueError(
            f"cache key {key!r} is not allowed (relative path of names made of letters, digits, '.', '_', '-')"
        )
    return key


def cache_path(key: str) -> Path:
    """The file of entry ``key`` (e.g. ``"fooling/abc_detector.pt"``) under ``cache_dir()``. A folder on the way
    that is a symlink leading out of the cache makes the key unusable (``ValueError``): entries are only ever read,
    written or deleted inside the cache folder."""
    root = cache_dir()
    path = root.joinpath(*_check_key(key).split("/"))
    if not path.parent.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"cache entry {key!r} leads out of the cache folder {root} (a symlinked folder on its way)")
    return path


def _lock(key: str) -> FileLock:
    root = cache_dir()
    folder = root / LOCKS
    folder.mkdir(exist_ok=True)
    if folder.is_symlink() or not folder.is_dir():  # a lock folder elsewhere would put lock files outside the cache
        raise ValueError(f"the cache's lock folder {folder} is a symlink or not a folder; remove it")
    return FileLock(str(folder / (key.replace("/", "__") + ".lock")))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_manifest() -> dict[str, Any]:
    path = cache_dir() / MANIFEST
    try:
        doc = json.loads(path.read_text())
        entries = doc["entries"]
        if not isinstance(entries, dict):
            raise TypeError
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        warnings.warn(f"cache manifest {path} is damaged; every entry will be checked as untracked", stacklevel=3)
        return {}
    good = {}
    for key, rec in entries.items():
        try:
            _check_key(key)
            cache_path(key)
        except ValueError as err:
            warnings.warn(f"cache manifest {path}: entry {key!r} ignored ({err})", stacklevel=3)
            continue
        if isinstance(rec, dict) and isinstance(rec.get("sha256"), str):
            good[key] = {k: v for k, v in rec.items() if k in ("sha256", "size", "saved")}
        else:  # kept without a checksum: checked as untracked, cleared by "cache clear"
            warnings.warn(f"cache manifest {path}: entry {key!r} has no valid record", stacklevel=3)
            good[key] = {}
    return good


def _stale_temporaries(path: Path) -> list[Path]:
    """The temporary files of ``path``'s writers (``.<name>.<8 mkstemp characters>.tmp`` next to it)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return [path.parent / n for n in names if pattern.fullmatch(n)]


def _remove_stale_temporaries(path: Path) -> None:
    """Remove what dead writers of ``path`` left. Call only while holding the lock every writer of ``path`` holds
    (the entry's, or the manifest's): then no temporary of ``path`` can belong to a live writer."""
    for tmp in _stale_temporaries(path):
        with contextlib.suppress(OSError):
            tmp.unlink()


@contextlib.contextmanager
def _termination_raises() -> Iterator[None]:
    """While inside: SIGTERM and SIGHUP raise ``SystemExit(128 + signal)`` instead of ending the process at once,
    so that ``finally`` blocks (removing a temporary file) run. Only signals whose handler is the default (ending
    the process) are changed, and only in the main thread (where Python runs signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: the mode of files the toolkit writes: what open() would give (0666 less the umask), not mkstemp's 0600
FILE_MODE = 0o666 & ~_umask()


def _atomic_write(path: Path, writer: Callable[[Path], Any]) -> str:
    """``writer(tmp)`` fills a fresh temporary file next to ``path``; then it replaces ``path``. Returns sha256.
    The caller holds the lock of ``path``'s writers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    with _termination_raises():
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        try:
            writer(tmp)
            if tmp.is_symlink() or not tmp.is_file():
                raise ValueError(f"cache writer for {path} did not leave a regular file at {tmp}")
            digest = _sha256(tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return digest


def write_atomic(path: Path, writer: Callable[[Path], Any]) -> Path:
    """``writer(tmp)`` fills a fresh ``mkstemp`` file next to ``path`` (never an existing file or symlink, unique
    per writer), which then replaces ``path`` (``os.replace``, atomic). The temporary name keeps ``path``'s suffix,
    so writers that pick a format by suffix (PNG) work; an error, SIGTERM or SIGHUP during the write removes it.
    For files outside the cache (results, figures, user-given weights): no checksum, no lock."""
    with _termination_raises():
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
        os.close(fd)
        tmp = Path(name)
        try:
            writer(tmp)
            os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; results are ordinary files (0666 less the umask)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return path


def can_create_in(folder: Path) -> bool:
    """Whether an entry can really be created in ``folder``: a fresh temporary folder is made and removed at once.

    ``os.access`` says yes to root everywhere, also where nothing can be created (``/proc``, some mounts); a refused
    command must not find that out after its work."""
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".fvtrust-probe-"))
    except OSError:
        return False
    return True


def writable_ancestor(path: Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` must be a folder this process can write and enter; else
    ``ValueError`` naming ``flag``."""
    parent = path.absolute().parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {str(path)!r} cannot be created: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK) or not can_create_in(parent):
        raise ValueError(f"{flag} {str(path)!r} cannot be created: {str(parent)!r} is not writable for this user")


def refuse_taken(paths: list[Path], what: str) -> None:
    """Before any work: ``ValueError`` naming the first of ``paths`` that exists and is not a file (a folder, a
    device), where ``what`` could not be written."""
    for path in paths:
        if (path.exists() or path.is_symlink()) and not path.is_file():
            raise ValueError(f"{path} exists and is not a file: {what} cannot be written there")


def check_output_dir(path: str | Path, flag: str = "--out") -> Path:
    """``path`` if it is a writable folder or can be created as one; else ``ValueError`` naming ``flag``.

    Nothing is left behind: the writability probe removes what it makes. An empty path is refused (it would mean
    the current folder)."""
    if not str(path).strip():
        raise ValueError(f"{flag} is empty; give a folder (write '.' for the current one)")
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ValueError(f"{flag} {str(path)!r} exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK) or not can_create_in(path):
            raise ValueError(f"{flag} {str(path)!r} is not writable for this user")
        return path
    writable_ancestor(path, flag)
    return path


def _update_manifest(key: str, record: dict[str, Any] | None) -> None:
    with FileLock(str(cache_dir() / (MANIFEST + ".lock"))):
        entries = _read_manifest()
        if record is None:
            entries.pop(key, None)
        else:
            entries[key] = record
        doc = {"version": 1, "entries": dict(sorted(entries.items()))}
        _atomic_write(cache_dir() / MANIFEST, lambda p: p.write_text(json.dumps(doc, indent=1)))


def _save_unlocked(key: str, writer: Callable[[Path], Any]) -> Path:
    path = cache_path(key)
    digest = _atomic_write(path, writer)
    _update_manifest(key, {"sha256": digest, "size": path.stat().st_size, "saved": time.time()})
    return path


def save_entry(key: str, writer: Callable[[Path], Any]) -> Path:
    """Write entry ``key`` atomically: ``writer(tmp_path)`` writes the file (e.g. ``lambda p: torch.save(sd, p)``);
    its sha256 goes into the manifest. Returns the entry's path."""
    with _lock(_check_key(key)):
        return _save_unlocked(key, writer)


def _problem(key: str, entries: dict[str, Any]) -> str | None:
    path = cache_path(key)
    rec = entries.get(key)
    if path.is_symlink():
        return "is a symlink"
    if not path.is_file():
        return "is missing"
    if not isinstance(rec, dict) or "sha256" not in rec:
        return "has no checksum in the manifest"
    if _sha256(path) != rec["sha256"]:
        return "does not match its sha256 (damaged or changed)"
    return None


def load_entry(key: str, reader: Callable[[Path], T], rebuild: Callable[[Path], Any] | None = None) -> T:
    """``reader(path)`` on entry ``key`` after its checksum is verified. A missing, damaged or unreadable entry is
    rebuilt with ``rebuild(tmp_path)`` (a writer, as for ``save_entry``) and a warning naming it; without
    ``rebuild`` it is a ``ValueError`` naming the entry."""
    with _lock(_check_key(key)):
        _remove_stale_temporaries(cache_path(key))
        why = _problem(key, _read_manifest())
        if why is None:
            try:
                return reader(cache_path(key))
            except Exception as err:  # noqa: BLE001 - any failure to read a verified entry means it is unusable
                why = f"cannot be read ({err.__class__.__name__}: {err})"
        if rebuild is None:
            raise ValueError(f"cache entry {key} ({cache_path(key)}) {why}; delete it or run 'fvtrust cache clear'")
        if why != "is missing":
            warnings.warn(f"cache entry {key} {why}; rebuilding it", stacklevel=2)
        _save_unlocked(key, rebuild)
        return reader(cache_path(key))


def list_cache() -> list[dict[str, Any]]:
    """The manifest's entries: key, path, size, sha256, time saved."""
    return [{**v, "key": k, "path": str(cache_path(k))} for k, v in _read_manifest().items()]


def verify_cache() -> list[dict[str, Any]]:
    """Every manifest entry checked against its sha256: ``{"key", "path", "ok", "problem"}``."""
    entries = _read_manifest()
    out = []
    for key in entries:
        with _lock(key):
            why = _problem(key, entries)
        out.append({"key": key, "path": str(cache_path(key)), "ok": why is None, "problem": why})
    return out


def clear_cache() -> list[str]:
    """Remove the entries the manifest lists (and the manifest); nothing else in the folder is touched."""
    removed = []
    for key in list(_read_manifest()):
        with _lock(key):
            path = cache_path(key)
            _remove_stale_temporaries(path)
            if path.is_file() or path.is_symlink():
                path.unlink()
            _update_manifest(key, None)
        removed.append(key)
    (cache_dir() / MANIFEST).unlink(missing_ok=True)
    return removed
