"""Offline natural images: Fashion-MNIST from the Debian package and the photos inside wheels."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from empirical.data import fashion_mnist, natural_images, random_crops, read_idx


@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_fashion_mnist_idx(split, n):
    x, y = fashion_mnist(split)
    assert x.shape == (n, 1, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (n,) and int(y.min()) == 0 and int(y.max()) == 9
    assert torch.bincount(y).tolist() == [n // 10] * 10  # balanced classes
    assert 60 < float(x.float().mean()) < 80  # real images, not zeros


def test_idx_parser_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x01\x02")
    with pytest.raises(ValueError, match="header says"):
        read_idx(bad)
    good = tmp_path / "good.gz"
    with gzip.open(good, "wb") as f:
        f.write(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    assert read_idx(good).tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="split 'val' is not one of"):
        fashion_mnist("val")


def test_photos_and_crops():
    nat = natural_images("imagenet")
    assert nat.images.shape == (len(nat.names), 3, 224, 224)
    assert float(nat.images.min()) >= 0 and float(nat.images.max()) <= 1
    assert {"chelsea", "coffee", "china", "grace_hopper"} <= set(nat.names)
    crops = random_crops(nat.images, 5, size=64, seed=1)
    assert crops.shape == (5, 3, 64, 64)
    torch.testing.assert_close(crops, random_crops(nat.images, 5, size=64, seed=1))  # seeded
    assert not torch.allclose(crops, random_crops(nat.images, 5, size=64, seed=2))
    assert np.isfinite(crops.numpy()).all()
    assert nat.class_names[int(nat.labels[nat.names.index("coffee")])] == "espresso"
    with pytest.raises(ValueError, match="kind 'cifar' is not one of"):
        natural_images("cifar")


def test_fashion_natural_images():
    nat = natural_images("fashion")
    assert nat.images.shape == (10000, 1, 28, 28) and nat.images.dtype == torch.float32
    assert float(nat.images.min()) >= 0 and float(nat.images.max()) <= 1
    x, y = fashion_mnist("test")
    torch.testing.assert_close(nat.images, x.float() / 255)
    assert torch.equal(nat.labels, y) and nat.class_names[0] == "T-shirt/top" and nat.class_names[9] == "Ankle boot"
