"""Where trained weights and generated data sets are cached."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$FVTRUST_CACHE``, else ``$XDG_CACHE_HOME/fvtrust``, else ``~/.cache/fvtrust``; created on demand."""
    root = os.environ.get("FVTRUST_CACHE")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "fvtrust"
    path.mkdir(parents=True, exist_ok=True)
    return path
