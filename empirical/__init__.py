"""Feature visualization on real networks: engine, model zoo, fooling circuits, path similarity."""

from empirical._cache import cache_dir

__all__ = ["cache_dir"]
