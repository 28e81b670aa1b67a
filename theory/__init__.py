"""What a feature visualization reveals about a function: exact value ranges, witnesses and verdicts.

>>> from theory import FeatureVisualization, value_range, check_class
>>> fv = FeatureVisualization(x_max=[1.0, 1.0], f_max=1.0, x_min=[0.0, 0.0], f_min=0.0)
>>> r = value_range("lipschitz", fv, [1.0, 0.0], L=1.0, d=2, norm=2)
>>> (r.lo, r.hi)
(0.0, 1.0)
>>> check_class("lipschitz", L=2.0, d=2, norm=2)["min_or_max"].verdict
'depends'

The theory table (rows, formats, comparison with the paper) is :mod:`theory.table`; ``explore(name, out)`` writes
plots and a Markdown report of how much a visualization reveals for one class (``fvtrust explore``).
"""

from theory._check import QUESTIONS, Answer, ClassReport, EngineError, check_class, value_range
from theory._explore_report import explore
from theory._range import ValueRange
from theory._setting import FeatureVisualization, Observations
from theory._witness import (
    AffineWitness,
    ConeWitness,
    ConstantWitness,
    MaxAffineWitness,
    MonotoneRampWitness,
    TentSumWitness,
    Witness,
)
from theory.classes import FunctionClass, InconsistentVisualization, class_names, get_class

__all__ = [
    "QUESTIONS",
    "AffineWitness",
    "Answer",
    "ClassReport",
    "ConeWitness",
    "ConstantWitness",
    "EngineError",
    "FeatureVisualization",
    "FunctionClass",
    "InconsistentVisualization",
    "MaxAffineWitness",
    "MonotoneRampWitness",
    "Observations",
    "TentSumWitness",
    "ValueRange",
    "Witness",
    "check_class",
    "class_names",
    "explore",
    "get_class",
    "value_range",
]
