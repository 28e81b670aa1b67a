"""Function classes, one module each, registered by name."""

from theory.classes._base import FunctionClass, InconsistentVisualization, class_names, get_class
from theory.classes.affine import Affine
from theory.classes.black_box import BlackBox
from theory.classes.constant import Constant
from theory.classes.convex import Convex
from theory.classes.convex_lipschitz import ConvexLipschitz
from theory.classes.erm_network import ErmNetwork
from theory.classes.lipschitz import Lipschitz
from theory.classes.monotone_lipschitz import MonotoneLipschitz
from theory.classes.monotonic import Monotonic
from theory.classes.neural_network import NeuralNetwork
from theory.classes.piecewise_affine import PiecewiseAffine
from theory.classes.quadratic import Quadratic
from theory.classes.smooth import Smooth

__all__ = [
    "Affine",
    "BlackBox",
    "Constant",
    "Convex",
    "ConvexLipschitz",
    "ErmNetwork",
    "FunctionClass",
    "InconsistentVisualization",
    "Lipschitz",
    "Monotonic",
    "MonotoneLipschitz",
    "NeuralNetwork",
    "PiecewiseAffine",
    "Quadratic",
    "Smooth",
    "class_names",
    "get_class",
]
