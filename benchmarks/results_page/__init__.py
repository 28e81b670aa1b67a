"""The sections of docs/results.md, one function per experiment (``benchmarks/make_results_page.py`` runs them)."""

from collections.abc import Callable

from results_page._fooling import section_fooling, section_fooling_cost
from results_page._format import Page, Result, rel
from results_page._sections import (
    section_fashion_train,
    section_inception,
    section_paths,
    section_paths_memory,
    section_relu_max,
    section_smooth_members,
    section_sweep,
    section_theory,
    section_visualize,
)

SECTIONS: tuple[Callable[[Page], None], ...] = (
    section_fooling,
    section_fooling_cost,
    section_paths,
    section_paths_memory,
    section_theory,
    section_smooth_members,
    section_relu_max,
    section_inception,
    section_visualize,
    section_sweep,
    section_fashion_train,
)

__all__ = ["SECTIONS", "Page", "Result", "rel"]
