"""Lucid's InceptionV1 (inceptionv1): Lucent's names and shapes, layers, class mapping, label files, redirected ReLU."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from empirical.models import (
    imagenet_wnids,
    load_model,
    output_index_for_wnid,
    parameter_manifest,
    read_label_file,
)
from empirical.models._inceptionv1 import same_pads
from empirical.visualize import ActivationCapture, RedirectedReLUs, channel, redirected_relu, render


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return load_model("inceptionv1", weights="random")


def test_parameters_match_lucents_manifest(model):
    state = model.net.state_dict()
    manifest = parameter_manifest()
    assert len(manifest) == 116
    assert {k: tuple(v.shape) for k, v in state.items()} == manifest


def test_forward_and_literature_layers(model):
    x = torch.rand(1, 3, 224, 224)
    layers = ["conv2d0", "maxpool0", "conv2d2", "mixed3a", "mixed3b", "mixed4a", "mixed4a_3x3_pre_relu_conv"]
    layers += ["mixed4e", "mixed5b", "softmax2_pre_activation_matmul", "logits"]
    acts = model.activations(x, layers)
    shapes = {k: tuple(v.shape) for k, v in acts.items()}
    assert shapes == {
        "conv2d0": (1, 64, 112, 112),
        "maxpool0": (1, 64, 56, 56),
        "conv2d2": (1, 192, 56, 56),
        "mixed3a": (1, 256, 28, 28),
        "mixed3b": (1, 480, 28, 28),
        "mixed4a": (1, 508, 14, 14),
        "mixed4a_3x3_pre_relu_conv": (1, 204, 14, 14),
        "mixed4e": (1, 832, 14, 14),
        "mixed5b": (1, 1024, 7, 7),
        "softmax2_pre_activation_matmul": (1, 1008),
        "logits": (1, 1008),
    }
    torch.testing.assert_close(acts["softmax2_pre_activation_matmul"], acts["logits"])
    assert (acts["mixed4a"] >= 0).all() and (acts["mixed4a_3x3_pre_relu_conv"] < 0).any()
    # the 248 px frame of a render keeps a 7x7 mixed5b with Lucent's pads; other sizes are refused clearly
    assert model(torch.rand(1, 3, 248, 248)).shape == (1, 1008)
    with pytest.raises(ValueError, match="needs a 7x7 mixed5b"):
        model(torch.rand(1, 3, 300, 300))


def test_preprocessing_is_lucids(model):
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(model.normalize(x), x * 255 - 117)


@given(st.integers(1, 400), st.sampled_from([1, 3, 5, 7]), st.sampled_from([1, 2]))
def test_same_padding_is_tensorflows(n, k, s):
    before, after = same_pads(n, k, s)
    out = (n + before + after - k) // s + 1
    assert out == -(-n // s)  # TensorFlow's SAME output size
    assert 0 <= after - before <= 1


def test_tensorflow_padding_agrees_with_lucents_at_224(model):
    tf = load_model("inceptionv1", weights="random", padding="tensorflow")
    tf.net.load_state_dict(model.net.state_dict())
    x = torch.rand(1, 3, 224, 224)
    torch.testing.assert_close(tf(x), model(x))
    odd = torch.rand(1, 3, 225, 225)  # TensorFlow's size for an odd side is 113; Lucent's fixed pads give 112
    for net, side in ((tf, 113), (model, 112)):
        with ActivationCapture(net, ["conv2d0"]) as capture:  # stops after conv2d0 (the head needs 7x7)
            assert capture.run(odd)["conv2d0"].shape[-1] == side


def test_weights_round_trip_and_errors(model, tmp_path):
    path = tmp_path / "inception5h.pth"
    torch.save(model.net.state_dict(), path)
    again = load_model("inceptionv1", weights=path)
    x = torch.rand(1, 3, 224, 224)
    torch.testing.assert_close(again(x), model(x))
    with pytest.raises(ValueError, match="no inceptionv1 weights ship offline.*inception5h.pth"):
        load_model("inceptionv1")
    bad = dict(model.net.state_dict())
    bad["extra.weight"] = bad.pop("conv2d0_pre_relu_conv.bias")
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="1 missing .*conv2d0_pre_relu_conv.bias.*1 unexpected"):
        load_model("inceptionv1", weights=tmp_path / "bad.pth")
    wrong = dict(model.net.state_dict())
    wrong["softmax2_pre_activation_matmul.bias"] = torch.zeros(1000)
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match=r"wrong shapes: softmax2_pre_activation_matmul.bias \(1000,\)"):
        load_model("inceptionv1", weights=tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="padding must be one of"):
        load_model("inceptionv1", weights="random", padding="reflect")


def test_class_mapping(model):
    assert len(model.wnids) == len(model.class_names) == 1008
    assert model.wnids[0] is None and all(w is None for w in model.wnids[1001:])
    assert model.wnids[1] == "n02119789" and model.class_names[1] == "kit fox"  # devkit ILSVRC2012_ID 1
    assert output_index_for_wnid(model, "n01440764") == 449  # tench: devkit id 449
    assert sorted(w for w in model.wnids if w) == list(imagenet_wnids())
    mobile = load_model("mobilenet_v2", weights="random")
    assert output_index_for_wnid(mobile, "n01440764") == 0 and mobile.wnids == list(imagenet_wnids())
    assert mobile.class_names[output_index_for_wnid(mobile, "n07920052")] == "espresso"
    with pytest.raises(ValueError, match="not a class"):
        output_index_for_wnid(model, "n99999999")
    with pytest.raises(ValueError, match="no WordNet-id mapping"):
        output_index_for_wnid(nn.Linear(2, 2), "n01440764")


def test_label_files(tmp_path):
    good = tmp_path / "labels.txt"
    good.write_text("# wnid index name\nn01440764 3 tench\n\nn01443537 5 goldfish, Carassius auratus\n")
    wnids, names = read_label_file(good, 8)
    assert wnids[3] == "n01440764" and names[5] == "goldfish, Carassius auratus" and wnids[0] is None
    m = load_model("inceptionv1", weights="random", labels=good)
    assert output_index_for_wnid(m, "n01443537") == 5 and m.label_source.startswith("label file")
    js = tmp_path / "labels.json"
    js.write_text(json.dumps({"labels": [["n01440764", 7, "tench"]]}))
    assert read_label_file(js, 8)[0][7] == "n01440764"
    for text, message in [
        ("n0144 3 x\n", "not a WordNet id"),
        ("n01440764 -3 x\n", "not a non-negative integer"),
        ("n01440764 3\nn01443537 3\n", "listed twice"),
        ("n01440764\n", "expected 'WNID INDEX"),
        ("# nothing\n", "lists no classes"),
    ]:
        bad = tmp_path / "bad.txt"
        bad.write_text(text)
        with pytest.raises(ValueError, match=message):
            read_label_file(bad, 8)
    far = tmp_path / "far.txt"
    far.write_text("n01440764 2000 x\n")
    with pytest.raises(ValueError, match="beyond the model's 1008"):
        load_model("inceptionv1", weights="random", labels=far)
    with pytest.raises(ValueError, match="does not exist"):
        load_model("inceptionv1", weights="random", labels=tmp_path / "none.txt")


# --- redirected ReLU -------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-3, 3, allow_nan=False), min_size=8, max_size=8), st.integers(0, 2**31 - 1))
def test_lucid_rule(values, seed):
    x = torch.tensor(values, dtype=torch.float64).view(2, 4).requires_grad_(True)
    g = torch.randn(2, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    (grad,) = torch.autograd.grad(redirected_relu(x, "lucid"), x, g)
    (plain,) = torch.autograd.grad(torch.relu(x), x, g)
    for b in range(2):
        relu_grad = torch.where(x[b] < 0, 0.0, g[b])
        if relu_grad.norm() > 0:  # some gradient gets through: unchanged (x = 0 passes it, as in Lucid)
            torch.testing.assert_close(grad[b], relu_grad)
        else:  # everything blocked: only gradient pushing negative inputs up (g < 0 in descent) passes
            torch.testing.assert_close(grad[b], torch.where((x[b] < 0) & (g[b] > 0), 0.0, g[b]))
        inactive = x[b] < 0
        if relu_grad.norm() == 0 and bool((inactive & (g[b] < 0)).any()):
            assert not torch.equal(grad[b], plain[b])  # it changes gradients where the ReLU is inactive
    torch.testing.assert_close(redirected_relu(x.detach(), "lucid"), torch.relu(x.detach()))


def test_lucent_rule():
    x = torch.tensor([[-1.0, 0.5, -2.0]], requires_grad=True)
    (grad,) = torch.autograd.grad(redirected_relu(x, "lucent"), x, torch.tensor([[2.0, 3.0, -4.0]]))
    torch.testing.assert_close(grad, torch.tensor([[0.2, 3.0, -0.4]]))
    with pytest.raises(ValueError, match="redirect rule must be one of"):
        redirected_relu(x, "leaky")


class _Dead(nn.Module):
    """A unit behind a ReLU that never fires on images in [0, 1]: its plain gradient is zero."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(2, 3, 3, 3, generator=torch.Generator().manual_seed(1)) * 0.1)
            self.conv.bias.fill_(-5.0)
        self.relu = nn.ReLU(inplace=inplace)
        self.out = nn.Conv2d(2, 2, 1)
        with torch.no_grad():
            self.out.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
            self.out.bias.zero_()

    def forward(self, x):
        return self.out(self.relu(self.conv(x)))


def _render(net, steps, redirect, **kw):
    return render(
        net, channel("out", [0]), [3], size=16, steps=steps, transforms=(), progress=False, fuse=False,
        redirect_relu=redirect, **kw,
    )  # fmt: skip


@pytest.mark.parametrize("inplace", [False, True])
def test_redirect_moves_a_dead_unit_and_is_off_afterwards(inplace):
    net = _Dead(inplace).double()
    plain = _render(net, 4, 0)
    assert plain.redirect_relu == (0, "")
    start = _render(net, 0, 0).images
    torch.testing.assert_close(plain.images, start)  # zero gradient: Adam never moves the image
    redirected = _render(net, 4, 2)
    assert redirected.redirect_relu == (2, "lucid")
    assert (redirected.images - start).abs().max() > 1e-3
    assert net.relu.inplace is inplace and not net.relu._forward_hooks  # restored
    # after the redirect steps the switch is off and the gradient is exactly the ordinary one (zero here)
    two = _render(net, 2, 2)
    grads = []
    with RedirectedReLUs(net, "lucid") as switch:
        for active in (True, False):
            switch.active = active
            x = two.images.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(-net(x)[:, 0].mean(), x)  # the loss, as in render
            grads.append(g)
    x = two.images.clone().requires_grad_(True)
    (plain_grad,) = torch.autograd.grad(-net(x)[:, 0].mean(), x)
    assert grads[0].abs().max() > 0 and torch.equal(grads[1], plain_grad)


def test_redirect_changes_nothing_where_relus_are_active():
    net = _Dead().double()
    with torch.no_grad():
        net.conv.bias.fill_(5.0)  # every ReLU on: the redirected gradient is the ordinary one
    torch.testing.assert_close(_render(net, 5, 5).images, _render(net, 5, 0).images, rtol=0, atol=1e-12)


def test_redirect_defaults_come_from_the_model(model):
    from empirical.visualize import model_redirect_defaults

    assert model_redirect_defaults(model) == (16, "lucid")
    assert model_redirect_defaults(nn.Sequential(model)) == (16, "lucid")  # wrappers inherit it
    assert model_redirect_defaults(load_model("mobilenet_v2", weights="random")) == (0, "lucid")
    with pytest.raises(ValueError, match="no nn.ReLU modules"):
        RedirectedReLUs(nn.Conv2d(3, 2, 1))
    with pytest.raises(ValueError, match="redirect_relu must be"):
        _render(_Dead(), 1, -1)


@pytest.mark.slow
def test_mobilenet_wnids_match_real_photo_folders():
    """The standard order is right: MobileNetV2's top-5 on real photos contains the folder's WordNet id."""
    import os
    from pathlib import Path

    from PIL import Image

    root = Path(os.environ.get("FVTRUST_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
    folder = root / "imagenet-1k"
    if not folder.is_dir():
        pytest.skip(f"no real ImageNet photos at {folder} (set FVTRUST_DATA)")
    model = load_model("mobilenet_v2")
    wnids = sorted(p.name for p in folder.iterdir() if p.is_dir())[::50]  # 20 classes across the order
    images, labels = [], []
    for wnid in wnids:
        photo = sorted((folder / wnid).iterdir())[0]
        im = Image.open(photo).convert("RGB").resize((224, 224))
        images.append(torch.tensor(list(im.getdata()), dtype=torch.float32).view(224, 224, 3).permute(2, 0, 1) / 255)
        labels.append(output_index_for_wnid(model, wnid))
    with torch.no_grad():
        top5 = model(torch.stack(images)).topk(5, dim=1).indices
    hits = sum(int(label in row.tolist()) for label, row in zip(labels, top5, strict=True))
    assert hits >= 15, hits  # MobileNetV2 top-5 is ~94% on these photos; a wrong order gives ~0
