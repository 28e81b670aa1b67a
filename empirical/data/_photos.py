"""Natural photos that ship inside PyPI wheels (scikit-image, scikit-learn, matplotlib), with their ImageNet
label where the class is clear (-1 otherwise), centre-cropped and resized to 224 px."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        img = getattr(skimage.data, name)()
        return img[0] if isinstance(img, tuple) else img

    return load


def _sklearn(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(name)

    return load


def _matplotlib(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import matplotlib.cbook as cbook
        import matplotlib.image as mpimg

        with cbook.get_sample_data(name) as f:
            return mpimg.imread(f, format=name.rsplit(".", 1)[-1])

    return load


#: name -> (loader, ImageNet labels that are correct for it; the first is the reference label).
PHOTOS: dict[str, tuple[Callable[[], np.ndarray], tuple[int, ...]]] = {
    "chelsea": (_skimage("chelsea"), (285, 281, 282)),  # Egyptian cat, tabby cat, tiger cat
    "coffee": (_skimage("coffee"), (967,)),  # espresso
    "motorcycle": (_skimage("stereo_motorcycle"), (665, 670)),  # moped, motor scooter
    "china": (_sklearn("china.jpg"), (698,)),  # palace
    "astronaut": (_skimage("astronaut"), ()),
    "rocket": (_skimage("rocket"), ()),
    "flower": (_sklearn("flower.jpg"), ()),
    "grace_hopper": (_matplotlib("grace_hopper.jpg"), ()),
}


def to_tensor(img: np.ndarray, size: int = 224) -> Tensor:
    """HWC uint8 (or float in [0,1]) -> (3, size, size) float in [0,1]: centre square crop, antialiased resize."""
    arr = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else 1.0)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, -1)
    t = torch.from_numpy(np.ascontiguousarray(arr[..., :3])).permute(2, 0, 1)[None]
    h, w = t.shape[2:]
    s = min(h, w)
    t = t[:, :, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)


def random_crops(images: Tensor, n: int, size: int = 224, seed: int = 0, min_scale: float = 0.35) -> Tensor:
    """n random square crops (side between min_scale and 1 of the image, random position, random horizontal
    flip) of the given images, resized to size: extra natural images."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        img = images[int(torch.randint(len(images), (1,), generator=g))]
        h, w = img.shape[1:]
        side = int(min(h, w) * (min_scale + (1 - min_scale) * float(torch.rand(1, generator=g))))
        y = int(torch.randint(h - side + 1, (1,), generator=g))
        x = int(torch.randint(w - side + 1, (1,), generator=g))
        crop = img[:, y : y + side, x : x + side]
        if float(torch.rand(1, generator=g)) < 0.5:
            crop = crop.flip(-1)
        out.append(F.interpolate(crop[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False))
    return torch.cat(out).clamp(0, 1)
