"""Independent verifiers: they read certificates as plain JSON-like dicts and check them exactly (rational
arithmetic, MILP, z3). Nothing here imports ``theory`` or the generators whose output it checks."""

from counterexamples.verify._certificates import (
    verify_counterexample,
    verify_lipschitz_region,
    verify_witness,
    verify_yes_proof,
)
from counterexamples.verify._extrema import relu_net_extrema
from counterexamples.verify._files import load_certificate, verify_file
from counterexamples.verify._grammar import ExpressionError, parse_expression, parse_number
from counterexamples.verify._kinds import verify_bound, verify_certificate, verify_condition
from counterexamples.verify._pieces import parse_pieces, pieces_extrema, verify_pieces
from counterexamples.verify._relu import ReluNet, evaluate, parse_relu_net, z3_bound_holds
from counterexamples.verify._report import Check, Report, VerificationError
from counterexamples.verify._smooth import verify_smooth_region
from counterexamples.verify._smooth_lp import verify_smooth_lp_bound

__all__ = [
    "Check",
    "ExpressionError",
    "ReluNet",
    "Report",
    "VerificationError",
    "evaluate",
    "load_certificate",
    "parse_expression",
    "parse_number",
    "parse_pieces",
    "parse_relu_net",
    "pieces_extrema",
    "relu_net_extrema",
    "verify_bound",
    "verify_certificate",
    "verify_condition",
    "verify_counterexample",
    "verify_file",
    "verify_lipschitz_region",
    "verify_pieces",
    "verify_smooth_lp_bound",
    "verify_smooth_region",
    "verify_witness",
    "verify_yes_proof",
    "z3_bound_holds",
]
