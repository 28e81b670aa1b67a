"""Natural photos of the fooling experiments on ImageNet models, split so that nothing reported was tuned on.

``photo_splits(DIR)`` divides an ImageNet folder into a **calibration** split (what E is trained on, what the
silent units' biases and every threshold are set from) and a **held-out** split (what is reported). In a folder
where some classes have a single photo and others several (``imagenet-1k`` here: 900 classes with one photo, 100
with six) the single-photo classes are the calibration split; otherwise (e.g. the 50,000-image validation set,
50 photos per class) every second photo of each class, in file order, is. An optional extra folder
(``imagenet-other``: photos of categories outside the 1,000 classes) is held out as a whole and also supplies
photo targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from empirical.data import ImageFolderData, image_folder

__all__ = ["PhotoSplits", "load_all", "photo_splits"]

#: Most photos decoded into memory for calibration (the rest of a large folder is streamed for evaluation only).
MAX_CALIBRATION_PHOTOS = 5000


@dataclass(frozen=True)
class PhotoSplits:
    """An ImageNet folder (``source``), its calibration and held-out splits, and an optional extra folder."""

    source: ImageFolderData
    calibration: ImageFolderData
    held_out: ImageFolderData
    extra: ImageFolderData | None = None
    rule: str = ""

    def draw_extra(self, n: int, seed: int) -> list[Path]:
        """``n`` photos of the extra folder drawn with ``seed`` (``random.Random(seed).sample``), sorted: the
        template targets of ``--target photos`` (all of them when the folder holds fewer)."""
        import random

        if self.extra is None:
            raise ValueError("--target photos draws its templates from --extra-dir: give an extra folder")
        files = list(self.extra.files)
        return sorted(random.Random(seed).sample(files, min(n, len(files))))

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {
            "source": str(self.source.root),
            "rule": self.rule,
            "n_source": len(self.source),
            "n_calibration": len(self.calibration),
            "n_held_out": len(self.held_out),
            "calibration_file_list_sha256": self.calibration.file_list_sha256(),
            "held_out_file_list_sha256": self.held_out.file_list_sha256(),
        }
        if self.extra is not None:
            out |= {"extra": str(self.extra.root), "n_extra": len(self.extra)}
            out["extra_file_list_sha256"] = self.extra.file_list_sha256()
        return out


def photo_splits(imagenet_dir: str | Path, extra_dir: str | Path | None = None) -> PhotoSplits:
    """The calibration / held-out split of ``imagenet_dir`` (see the module docstring); every file checked."""
    data = image_folder(imagenet_dir)
    extra = image_folder(extra_dir) if extra_dir is not None else None
    groups = data.by_class()
    sizes = {len(v) for v in groups.values()}
    if 1 in sizes and len(sizes) > 1:
        calib = sorted(i for v in groups.values() if len(v) == 1 for i in v)
        rule = "classes with a single photo (calibration) / classes with several photos (held out)"
    else:
        calib = sorted(i for v in groups.values() for i in v[::2])
        rule = "every second photo of each class in file order (calibration) / the others (held out)"
    if len(calib) > MAX_CALIBRATION_PHOTOS:
        calib = calib[:: -(-len(calib) // MAX_CALIBRATION_PHOTOS)]
        rule += f" (calibration thinned to at most {MAX_CALIBRATION_PHOTOS} photos)"
    calib_set = set(calib)
    held = [i for i in range(len(data)) if i not in calib_set]
    if not calib or not held:
        raise ValueError(
            f"--imagenet-dir {str(data.root)!r}: {len(data)} photos cannot be split into calibration and held-out "
            "photos (need at least 2 photos)"
        )
    return PhotoSplits(data, data.subset(calib), data.subset(held), extra, rule)


def load_all(data: ImageFolderData, batch_size: int = 64) -> Tensor:
    """Every image of ``data`` decoded into one tensor (N, 3, size, size) (for calibration sets of bounded size)."""
    if len(data) > MAX_CALIBRATION_PHOTOS:
        raise ValueError(f"load_all: {len(data)} photos is more than {MAX_CALIBRATION_PHOTOS}; stream them instead")
    return torch.cat([x for x, _ in data.loader(batch_size=batch_size)])
