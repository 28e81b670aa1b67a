"""Fashion-MNIST (MIT licence) from the Debian package ``dataset-fashion-mnist``: IDX files parsed with numpy."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (big-endian header: magic with the number of dimensions, then the sizes)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {arr.size} bytes")
    return arr.reshape(shape)


def fashion_mnist(split: str = "train", root: Path | None = None) -> tuple[Tensor, Tensor]:
    """(images uint8 (N, 1, 28, 28), labels long (N,)) of the "train" (60,000) or "test" (10,000) split."""
    if split not in _FILES:
        raise ValueError(f"split {split!r} is not one of 'train', 'test'")
    base = root or FASHION_DIR
    img_file, lab_file = (base / f for f in _FILES[split])
    if not img_file.exists():
        raise FileNotFoundError(
            f"{img_file} not found: install the Debian package dataset-fashion-mnist (apt-get install "
            "dataset-fashion-mnist), as install.sh does"
        )
    images = torch.from_numpy(read_idx(img_file).copy()).unsqueeze(1)
    labels = torch.from_numpy(read_idx(lab_file).astype(np.int64))
    return images, labels
