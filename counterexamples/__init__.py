"""Counterexamples and proofs for every verdict of the theory table, and independent verifiers.

- ``generate(cls, d, **params)``: two concrete members of a class (sympy expressions or torch ReLU networks)
  with exactly the same feature visualization that disagree at a point, with an exact certificate;
- ``train_pair``: ordinary training from two seeds ends in networks that agree on the visualization and
  disagree elsewhere;
- ``write_witnesses``: certificates as self-contained JSON;
- ``pieces_of``: a ReLU-network witness as a continuous piecewise-affine function given by its pieces (exact),
  with ``evaluate_pieces`` and ``pieces_to_sympy``;
- ``counterexamples.verify``: the independent verifiers (they import nothing from the generators).
"""

from counterexamples._erm_demo import train_pair
from counterexamples._export import write_witnesses
from counterexamples._generators import CLASSES, Counterexample, generate, generate_all, relu_sequential, sympy_expr
from counterexamples._pieces import evaluate_pieces, pieces_of, pieces_to_sympy

__all__ = [
    "CLASSES",
    "Counterexample",
    "evaluate_pieces",
    "generate",
    "generate_all",
    "pieces_of",
    "pieces_to_sympy",
    "relu_sequential",
    "sympy_expr",
    "train_pair",
    "write_witnesses",
]
