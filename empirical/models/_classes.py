"""Which output of a zoo model is which ImageNet class: WordNet ids per output, label files.

Two orders occur:

* the standard 1000-class order (torchvision, Keras, timm: the 1000 ILSVRC-2012 WordNet ids sorted as strings),
  used by ``mobilenet_v2``, ``efficientnet_lite0``, ``inception_v1`` and ``resnet50``;
* the ILSVRC-2012 devkit order (``ILSVRC2012_ID`` 1..1000) of Lucid's InceptionV1 ``inceptionv1``, whose 1008
  outputs put class ``k`` at output ``k`` and leave outputs 0 and 1001-1007 unused.

Both come from one data file, ``inceptionv1_labels.json`` (Lucent's ``old_imagenet_labels.txt``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from torch import nn

__all__ = ["imagenet_wnids", "output_index_for_wnid", "parse_label_file", "read_label_file", "set_labels"]

_WNID = re.compile(r"^n\d{8}$")
_LABELS = Path(__file__).resolve().parent / "inceptionv1_labels.json"


@lru_cache(maxsize=1)
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ILSVRC-2012 WordNet ids in the standard (sorted) order: output ``i`` of a 1000-class model."""
    return tuple(sorted(str(w) for w, _i, _n in json.loads(_LABELS.read_text())["labels"]))


def output_index_for_wnid(model: nn.Module, wnid: str) -> int:
    """The output of ``model`` (a ``ZooModel`` with ``wnids``) that scores the class ``wnid``.

    ``ValueError`` for a model without a WordNet mapping or a WordNet id that is none of its classes.
    """
    wnids = getattr(model, "wnids", None)
    name = getattr(model, "name", type(model).__name__)
    if not wnids:
        raise ValueError(f"model {name!r} has no WordNet-id mapping of its outputs (not an ImageNet model)")
    index = _index(tuple(wnids)).get(wnid)
    if index is None:
        raise ValueError(f"WordNet id {wnid!r} is not a class of model {name!r} ({len(_index(tuple(wnids)))} classes)")
    return index


@lru_cache(maxsize=8)
def _index(wnids: tuple[str | None, ...]) -> dict[str, int]:
    return {w: i for i, w in enumerate(wnids) if w is not None}


def parse_label_file(path: str | Path) -> list[tuple[str, int, str]]:
    """(WordNet id, output index, name) rows of a label file.

    Text: one class per line, ``WNID INDEX [NAME ...]`` (Lucent's ``old_imagenet_labels.txt`` format); blank lines
    and lines starting with ``#`` are skipped. JSON: ``{"labels": [[WNID, INDEX, NAME], ...]}`` (the zoo's
    ``inceptionv1_labels.json`` format). Every problem is a one-line ``ValueError`` naming the file and line.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"label file {str(p)!r} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"label file {str(p)!r} is not readable UTF-8 text: {err}") from None
    raw: list[tuple[int, str, str, str]] = []  # (line, wnid, index, name)
    if p.suffix.lower() == ".json":
        try:
            labels = json.loads(text)["labels"]
            raw = [(k + 1, str(w), str(i), str(n)) for k, (w, i, n) in enumerate(labels)]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"label file {str(p)!r}: expected {{'labels': [[wnid, index, name], ...]}} ({err})"
            ) from None
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split(maxsplit=2)
            if len(parts) < 2:
                raise ValueError(f"label file {str(p)!r} line {number}: expected 'WNID INDEX [NAME]', got {line!r}")
            raw.append((number, parts[0], parts[1], parts[2].strip() if len(parts) > 2 else parts[0]))
    if not raw:
        raise ValueError(f"label file {str(p)!r} lists no classes")
    rows: list[tuple[str, int, str]] = []
    seen_wnids: set[str] = set()
    seen_index: set[int] = set()
    for number, wnid, index_text, name in raw:
        where = f"label file {str(p)!r} line {number}"
        if not _WNID.match(wnid):
            raise ValueError(f"{where}: {wnid!r} is not a WordNet id (n followed by 8 digits)")
        if not re.fullmatch(r"\d{1,9}", index_text):
            raise ValueError(f"{where}: index {index_text!r} is not a non-negative integer")
        index = int(index_text)
        if index in seen_index or wnid in seen_wnids:
            raise ValueError(f"{where}: output {index} or WordNet id {wnid} is listed twice")
        seen_index.add(index)
        seen_wnids.add(wnid)
        rows.append((wnid, index, name))
    return rows


def read_label_file(path: str | Path, n_outputs: int) -> tuple[tuple[str | None, ...], tuple[str, ...]]:
    """(WordNet id or ``None``, name) for each of ``n_outputs`` outputs from a label file
    (:func:`parse_label_file`); outputs not listed are unused (``None``, ``"(unused)"``)."""
    wnids: list[str | None] = [None] * n_outputs
    names = ["(unused)"] * n_outputs
    for wnid, index, name in parse_label_file(path):
        if index >= n_outputs:
            raise ValueError(f"label file {str(path)!r}: output {index} of {wnid} is beyond the model's {n_outputs}")
        wnids[index], names[index] = wnid, name
    return tuple(wnids), tuple(names)


def set_labels(model: nn.Module, path: str | Path) -> None:
    """Replace the WordNet ids and class names of a zoo model's outputs with those of a label file."""
    n_outputs = len(getattr(model, "class_names", ()))
    if not n_outputs:
        raise ValueError(f"label file {str(path)!r}: the model has no class outputs to label")
    wnids, names = read_label_file(path, n_outputs)
    model.wnids = list(wnids)  # type: ignore[assignment]
    model.class_names = list(names)  # type: ignore[assignment]
    model.label_source = f"label file {path}"  # type: ignore[assignment]
