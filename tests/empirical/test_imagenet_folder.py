"""ImageNet class folders: layouts, up-front checks of every file, labels per model, streaming batches."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from empirical.data import ImageFolderData, image_folder, imagenet_wnids, output_wnids

DATA = Path(os.environ.get("FVTRUST_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
needs_data = pytest.mark.skipif(
    not (DATA / "imagenet-1k").is_dir(), reason=f"real ImageNet photos not found at {DATA} (set FVTRUST_DATA)"
)


def _jpeg(path: Path, seed: int = 0, size: tuple[int, int] = (40, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, "JPEG")
    return path


class _Model:
    def __init__(self, n: int = 1000, wnids: list[str] | None = None) -> None:
        self.name = "fake"
        self.class_names = [str(i) for i in range(n)]
        if wnids is not None:
            self.wnids = wnids


def test_three_layouts_give_the_same_classes(tmp_path):
    w = imagenet_wnids()
    for layout, names in {
        "wnid": [w[0], w[1], w[517]],
        "index": ["0", "1", "517"],
        "name": ["tench", "Goldfish", "great_white_shark"],
    }.items():
        for k, name in enumerate(names):
            _jpeg(tmp_path / layout / name / f"a{k}.jpg", k)
    a = image_folder(tmp_path / "wnid")
    b = image_folder(tmp_path / "index")
    assert a.classes == sorted([w[0], w[1], w[517]]) == b.classes
    c = image_folder(tmp_path / "name")
    assert sorted(set(c.wnids)) == sorted([w[0], w[1], w[2]])
    assert c.labels_for(_Model()).tolist() == [w.index(x) for x in c.wnids]


def test_files_sorted_and_hash_depends_on_the_list_only(tmp_path):
    w = imagenet_wnids()
    for k in (3, 1, 2):
        _jpeg(tmp_path / "d" / w[5] / f"f{k}.jpg", k)
    _jpeg(tmp_path / "d" / w[4] / "z.jpg")
    (tmp_path / "d" / w[4] / "notes.txt").write_text("not an image")
    d = image_folder(tmp_path / "d")
    assert d.relative_paths() == [f"{w[4]}/z.jpg", f"{w[5]}/f1.jpg", f"{w[5]}/f2.jpg", f"{w[5]}/f3.jpg"]
    shutil.copytree(tmp_path / "d", tmp_path / "e")
    assert image_folder(tmp_path / "e").file_list_sha256() == d.file_list_sha256()
    (tmp_path / "e" / w[5] / "f1.jpg").rename(tmp_path / "e" / w[5] / "f0.jpg")
    assert image_folder(tmp_path / "e").file_list_sha256() != d.file_list_sha256()
    assert d.by_class() == {w[4]: [0], w[5]: [1, 2, 3]}
    s = d.subset([3, 0])
    assert isinstance(s, ImageFolderData) and s.wnids == [w[5], w[4]] and s.files == [d.files[3], d.files[0]]
    with pytest.raises(ValueError, match="indices must be in 0..3"):
        d.subset([4])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda r: None, "does not exist"),
        (lambda r: r.mkdir(), "no class sub-folders"),
        (lambda r: (r / "n01440764").mkdir(parents=True), "no image files"),
        (lambda r: _jpeg(r / "not_a_class" / "a.jpg"), "not_a_class.*neither a WordNet id"),
        (lambda r: _jpeg(r / "1000" / "a.jpg"), "class index must be 0-999"),
        (lambda r: _jpeg(r / "crane" / "a.jpg"), "crane.*ambiguous"),
        (lambda r: (_jpeg(r / "0" / "a.jpg"), _jpeg(r / "tench" / "b.jpg")), "same class"),
    ],
)
def test_bad_folders_are_named(tmp_path, make, match):
    root = tmp_path / "root"
    make(root)
    with pytest.raises(ValueError, match=match):
        image_folder(root)


def test_bad_files_are_found_before_any_work(tmp_path):
    w = imagenet_wnids()[0]
    good = _jpeg(tmp_path / "r" / w / "good.jpg")
    data = good.read_bytes()
    (tmp_path / "r" / w / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.jpg.*is empty"):
        image_folder(tmp_path / "r")
    (tmp_path / "r" / w / "empty.jpg").unlink()
    (tmp_path / "r" / w / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.jpg.*truncated"):
        image_folder(tmp_path / "r")
    (tmp_path / "r" / w / "cut.jpg").unlink()
    (tmp_path / "r" / w / "text.jpg").write_bytes(b"hello, not a picture" * 10)
    with pytest.raises(ValueError, match="text.jpg.*not a readable image"):
        image_folder(tmp_path / "r")
    (tmp_path / "r" / w / "text.jpg").unlink()
    Image.new("L", (9000, 9000)).save(tmp_path / "r" / w / "bomb.png")  # 81 Mpx, a few hundred bytes
    with pytest.raises(ValueError, match="bomb.png.*too large"):
        image_folder(tmp_path / "r")
    (tmp_path / "r" / w / "bomb.png").unlink()
    assert len(image_folder(tmp_path / "r")) == 1


def test_sizes_validated(tmp_path):
    _jpeg(tmp_path / "r" / "0" / "a.jpg")
    for kw in ({"size": 0}, {"resize": 10**6}, {"size": 300, "resize": 256}, {"size": 2.5}):
        with pytest.raises(ValueError, match="size"):
            image_folder(tmp_path / "r", **kw)


def test_labels_for_models_with_and_without_a_mapping(tmp_path):
    w = imagenet_wnids()
    _jpeg(tmp_path / "r" / w[7] / "a.jpg")
    _jpeg(tmp_path / "r" / "n00007846" / "person.jpg")  # outside the 1,000 classes
    d = image_folder(tmp_path / "r")
    assert d.labels_for(_Model()).tolist() == [-1, 7]
    devkit_like = ["", *reversed(w)]  # 1,001 outputs, background first, another order
    assert d.labels_for(_Model(1001, devkit_like)).tolist() == [-1, 1000 - 7]
    with pytest.raises(ValueError, match="no ImageNet class mapping"):
        output_wnids(_Model(10))


def test_loader_streams_preprocessed_images(tmp_path):
    w = imagenet_wnids()
    for k in range(5):
        _jpeg(tmp_path / "r" / w[k % 2] / f"{k}.jpg", k, size=(300 + 10 * k, 260))
    d = image_folder(tmp_path / "r", resize=64, size=56)
    batches = list(d.loader(batch_size=2))
    assert [len(i) for _, i in batches] == [2, 2, 1]
    x = torch.cat([b for b, _ in batches])
    assert x.shape == (5, 3, 56, 56) and x.dtype == torch.float32 and 0 <= float(x.min()) <= float(x.max()) <= 1
    assert torch.cat([i for _, i in batches]).tolist() == [0, 1, 2, 3, 4]
    sub = list(d.loader(batch_size=8, indices=[4, 1]))
    assert sub[0][1].tolist() == [4, 1] and torch.equal(sub[0][0][0], x[4])
    with pytest.raises(ValueError, match="batch_size"):
        d.loader(batch_size=0)


@needs_data
def test_real_folders():
    d = image_folder(DATA / "imagenet-1k")
    assert len(d) == 1500 and len(d.classes) == 1000
    counts = sorted({len(v) for v in d.by_class().values()})
    assert counts == [1, 6] and sum(len(v) == 6 for v in d.by_class().values()) == 100
    assert d.classes == list(imagenet_wnids())
    o = image_folder(DATA / "imagenet-other")
    assert len(o) == 250 and len(o.classes) == 50 and not set(o.classes) & set(imagenet_wnids())
    x, i = next(iter(d.loader(batch_size=3, indices=[0, 1, 2])))
    assert x.shape == (3, 3, 224, 224) and float(x.std()) > 0.05


def test_names_that_are_not_utf8_are_listed_and_hashed(tmp_path):
    """A file name that is not UTF-8 (surrogate-escaped by Python) is hashed by its bytes; before, the provenance
    hash failed after the whole job with a UnicodeEncodeError that named nothing."""
    import hashlib

    w = imagenet_wnids()
    _jpeg(tmp_path / "d" / w[5] / "plain.jpg")
    d = image_folder(tmp_path / "d")
    # UTF-8 names hash as before (the result files' hashes stay valid)
    assert d.file_list_sha256() == hashlib.sha256("\n".join(d.relative_paths()).encode()).hexdigest()
    folder = os.fsencode(tmp_path / "d" / w[5])
    odd = os.path.join(folder, b"caf\xe9.jpg")  # Latin-1, not UTF-8
    shutil.copy(os.path.join(folder, b"plain.jpg"), odd)
    e = image_folder(tmp_path / "d")
    assert len(e) == 2 and len(e.file_list_sha256()) == 64 and e.file_list_sha256() != d.file_list_sha256()
