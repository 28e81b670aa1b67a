"""The model zoo: real networks with real weights that work offline, each knowing its preprocessing, input size,
layer names and class names (see docs/models.md)."""

from empirical.models import _efficientnet_lite0, _fashion_cnn, _inception_v1, _mobilenet_v2, _resnet50  # noqa: F401
from empirical.models._fashion_cnn import evaluate, train_fashion_cnn
from empirical.models._zoo import LOGITS, ZooModel, load_model

MODEL_NAMES = ("mobilenet_v2", "efficientnet_lite0", "fashion_cnn", "inception_v1", "resnet50")

__all__ = ["LOGITS", "MODEL_NAMES", "ZooModel", "evaluate", "load_model", "train_fashion_cnn"]
