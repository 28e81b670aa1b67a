"""Counterexamples and proofs for every verdict of the theory table, and independent verifiers.

- ``generate(cls, d, **params)``: two concrete members of a class (sympy expressions or torch ReLU networks)
  with exactly the same feature visualization that disagree at a point, with an exact certificate;
- ``train_pair``: ordinary training from two seeds ends in networks that agree on the visualization and
  disagree elsewhere;
- ``write_witnesses``: certificates as self-contained JSON; ``counterexample_certificates(reports)``: the
  counterexamples behind class reports' answers (those of threshold certificates too), as it takes them;
- ``verify_report``: every class-level certificate of a ``check_class`` report checked by the verifiers;
  ``verified_table``: ``theory.table.build_table`` with every certificate checked (``verify_table_report``);
- ``pieces_of``: a ReLU-network witness as a continuous piecewise-affine function given by its pieces (exact),
  with ``evaluate_pieces`` and ``pieces_to_sympy``;
- ``counterexamples.verify``: the independent verifiers (they import nothing from the generators).
"""

from importlib import import_module
from typing import Any

#: public name -> the private module that defines it. Loaded on first use (module ``__getattr__``), so that
#: ``import counterexamples.verify`` loads neither torch nor the generators it checks.
_LAZY = {
    "train_pair": "counterexamples._erm_demo",
    "counterexample_certificates": "counterexamples._export",
    "write_witnesses": "counterexamples._export",
    "CLASSES": "counterexamples._generators",
    "Counterexample": "counterexamples._generators",
    "generate": "counterexamples._generators",
    "generate_all": "counterexamples._generators",
    "relu_sequential": "counterexamples._generators",
    "sympy_expr": "counterexamples._generators",
    "evaluate_pieces": "counterexamples._pieces",
    "pieces_of": "counterexamples._pieces",
    "pieces_to_sympy": "counterexamples._pieces",
    "verified_table": "counterexamples._table_verify",
    "verify_report": "counterexamples._table_verify",
    "verify_table_report": "counterexamples._table_verify",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'counterexamples' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CLASSES",
    "Counterexample",
    "counterexample_certificates",
    "evaluate_pieces",
    "generate",
    "generate_all",
    "pieces_of",
    "pieces_to_sympy",
    "relu_sequential",
    "sympy_expr",
    "train_pair",
    "verified_table",
    "verify_report",
    "verify_table_report",
    "write_witnesses",
]
