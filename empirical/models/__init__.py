"""The model zoo: real networks with real weights that work offline, each knowing its preprocessing, input size,
layer names, class names and WordNet ids (see docs/models.md)."""

from empirical.models import (  # noqa: F401 - each module registers its model
    _efficientnet_lite0,
    _fashion_cnn,
    _inception_v1,
    _inceptionv1,
    _mobilenet_v2,
    _resnet50,
)
from empirical.models._classes import (
    imagenet_wnids,
    output_index_for_wnid,
    parse_label_file,
    read_label_file,
    set_labels,
)
from empirical.models._fashion_cnn import evaluate, train_fashion_cnn
from empirical.models._inceptionv1 import InceptionV1, inceptionv1_labels, parameter_manifest
from empirical.models._zoo import LOGITS, ZooModel, load_model

MODEL_NAMES = ("mobilenet_v2", "efficientnet_lite0", "fashion_cnn", "inception_v1", "resnet50", "inceptionv1")
#: Models whose weights do not ship offline (``weights=PATH`` or ``"random"``).
USER_WEIGHTS = ("inception_v1", "resnet50", "inceptionv1")

__all__ = [
    "LOGITS",
    "MODEL_NAMES",
    "USER_WEIGHTS",
    "InceptionV1",
    "ZooModel",
    "evaluate",
    "imagenet_wnids",
    "inceptionv1_labels",
    "load_model",
    "output_index_for_wnid",
    "parameter_manifest",
    "parse_label_file",
    "read_label_file",
    "set_labels",
    "train_fashion_cnn",
]
