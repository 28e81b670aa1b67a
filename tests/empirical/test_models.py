"""The model zoo: real ImageNet weights classify real photos; the Fashion-MNIST CNN reaches >= 90%; errors."""

from __future__ import annotations

import pytest
import torch

from empirical.data import PHOTOS, natural_images
from empirical.models import MODEL_NAMES, load_model


@pytest.fixture(scope="module")
def photos():
    return natural_images("imagenet")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_lite0"])
def test_imagenet_models_classify_bundled_photos(name, photos):
    model = load_model(name)
    with torch.no_grad():
        logits = model(photos.images)
    top5 = logits.topk(5, dim=1).indices
    for i, photo in enumerate(photos.names):
        ok = PHOTOS[photo][1]
        if not ok:
            continue
        assert set(top5[i].tolist()) & set(ok), (photo, [model.class_names[j] for j in top5[i]])
    coffee = photos.names.index("coffee")
    assert model.class_names[int(logits[coffee].argmax())] == "espresso"
    cat = photos.names.index("chelsea")
    assert any("cat" in model.class_names[j].lower() or "mau" in model.class_names[j].lower() for j in top5[cat])


@pytest.mark.slow
def test_fashion_cnn_reaches_90_percent():
    from empirical.data import fashion_mnist
    from empirical.models import evaluate

    model = load_model("fashion_cnn")  # trains once (about 3 minutes on 2 cores) and caches the weights
    x, y = fashion_mnist("test")
    assert evaluate(model, x, y) >= 0.90


@pytest.mark.parametrize("name", ["inception_v1", "resnet50"])
def test_architectures_for_user_weights(name, tmp_path):
    model = load_model(name, weights="random")
    assert model(torch.rand(2, 3, 224, 224)).shape == (2, 1000)
    names = model.layer_names()
    assert "logits" in names and ("inception4c" in names if name == "inception_v1" else "layer4.2.conv3" in names)
    path = tmp_path / "w.pt"
    torch.save(model.net.state_dict(), path)
    again = load_model(name, weights=str(path))  # a user's weights file round-trips
    x = torch.rand(1, 3, 224, 224)
    torch.testing.assert_close(again(x), model(x))
    with pytest.raises(ValueError, match="no .* weights ship offline"):
        load_model(name)


def test_errors():
    with pytest.raises(ValueError, match="unknown model 'vgg'; models: "):
        load_model("vgg")
    model = load_model("mobilenet_v2", weights="random")
    with pytest.raises(ValueError, match=r"has no layer 'features.99'; layers: features, features.0"):
        model.get_layer("features.99")
    with pytest.raises(ValueError, match=r"takes images of shape \(N, 3, H, W\)"):
        model(torch.rand(1, 1, 224, 224))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model("resnet50", weights="/nonexistent/w.pt")
    assert set(MODEL_NAMES) == {
        "mobilenet_v2",
        "efficientnet_lite0",
        "fashion_cnn",
        "inception_v1",
        "resnet50",
        "inceptionv1",
    }


def test_layers_and_activations():
    model = load_model("mobilenet_v2", weights="random")
    assert "features.17" in model.layer_names() and "classifier.1" in model.layer_names()
    x = torch.rand(2, 3, 96, 96)
    acts = model.activations(x, ["features.17", "logits"])
    assert acts["features.17"].shape[:2] == (2, 320) and acts["logits"].shape == (2, 1000)
    torch.testing.assert_close(acts["logits"], model(x))
    pooled = acts["features.17"]
    with torch.no_grad():  # the hooked activation is what the next layers consume
        torch.testing.assert_close(
            model.net.classifier(model.net.avgpool(model.net.features[18](pooled)).flatten(1)), model(x)
        )
