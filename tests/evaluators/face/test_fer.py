"""The FER2013 mini-Xception port: checked layer by layer against an independent
NumPy interpreter of the Keras graph stored in the same HDF5 file, and on real faces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import skimage.data
import torch
from numpy.lib.stride_tricks import sliding_window_view

from emotive.conditioning.labels import FER2013_LABELS, LABELS
from emotive.evaluators.face.fer import (
    classify_crops,
    face_crop,
    fer_to_canonical,
    load_fer_model,
    preprocess,
    read_keras_weights,
)

# --- a NumPy interpreter of the Keras graph (written from Keras' documented semantics) ---


def _pad_same(x: np.ndarray, k: int, s: int, value: float = 0.0) -> np.ndarray:
    """TF "same": output ceil(n/s); the odd pixel of padding goes bottom/right. x: [H, W, C]."""
    pads = []
    for n in x.shape[:2]:
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [*pads, (0, 0)], constant_values=value)


def _conv(x, kernel, stride, padding):
    """Keras Conv2D: x [H, W, Ci], kernel [kh, kw, Ci, Co] (cross-correlation)."""
    kh = kernel.shape[0]
    if padding == "same":
        x = _pad_same(x, kh, stride)
    win = sliding_window_view(x, (kh, kh), axis=(0, 1))[::stride, ::stride]  # [Ho, Wo, Ci, kh, kw]
    return np.einsum("hwcij,ijco->hwo", win, kernel, optimize=True)


def _depthwise(x, kernel):
    """Depthwise 3x3 "same", kernel [kh, kw, C, 1]."""
    kh = kernel.shape[0]
    win = sliding_window_view(_pad_same(x, kh, 1), (kh, kh), axis=(0, 1))  # [H, W, C, kh, kw]
    return np.einsum("hwcij,ijc->hwc", win, kernel[..., 0], optimize=True)


def _maxpool(x, k, s):
    win = sliding_window_view(_pad_same(x, k, s, value=-np.inf), (k, k), axis=(0, 1))[::s, ::s]
    return win.max(axis=(-2, -1))


def keras_forward(x: np.ndarray) -> dict[str, np.ndarray]:
    """Run the graph of the HDF5 model config on one image x [64, 64, 1]; every layer's output by name."""
    weights, config = read_keras_weights()
    out: dict[str, np.ndarray] = {}
    for layer in config["config"]["layers"]:
        kind, c, name = layer["class_name"], layer["config"], layer["config"]["name"]
        ins = [out[n[0]] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        w = weights.get(name, {})
        if kind == "InputLayer":
            y = x.astype(np.float64)
        elif kind == "Conv2D":
            y = _conv(ins[0], w["kernel"].astype(np.float64), c["strides"][0], c["padding"])
            if c["use_bias"]:
                y = y + w["bias"]
        elif kind == "SeparableConv2D":
            y = _conv(
                _depthwise(ins[0], w["depthwise_kernel"].astype(np.float64)),
                w["pointwise_kernel"],
                1,
                "valid",
            )
        elif kind == "BatchNormalization":
            y = (
                w["gamma"] * (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"])
                + w["beta"]
            )
        elif kind == "Activation":
            if c["activation"] == "relu":
                y = np.maximum(ins[0], 0)
            else:
                assert c["activation"] == "softmax"
                e = np.exp(ins[0] - ins[0].max())
                y = e / e.sum()
        elif kind == "MaxPooling2D":
            y = _maxpool(ins[0], c["pool_size"][0], c["strides"][0])
        elif kind == "Add":
            y = ins[0] + ins[1]
        elif kind == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(0, 1))
        else:
            raise AssertionError(f"layer type {kind} not handled")
        out[name] = y
    return out


@pytest.fixture(scope="module")
def astronaut_crop():
    from emotive.evaluators.face.analysis import analyze_face

    img = skimage.data.astronaut()
    return face_crop(img, analyze_face(img).landmarks)


def test_layer_by_layer_against_keras_graph(astronaut_crop):
    x = preprocess(astronaut_crop)  # [1, 1, 64, 64]
    ref = keras_forward(x[0].permute(1, 2, 0).numpy())
    model = load_fer_model()
    with torch.no_grad():
        feats = [f[0].permute(1, 2, 0).numpy() for f in model.features(x)]
        probs = model.probs(x)[0].numpy()
    # Keras layers whose outputs our features() returns: stem ReLUs, the 4 residual adds, the head conv.
    names = ["activation_1", "activation_2", "add_1", "add_2", "add_3", "add_4", "conv2d_7"]
    for ours, name in zip(feats, names):
        assert ours.shape == ref[name].shape, name
        scale = np.abs(ref[name]).max()
        assert np.abs(ours - ref[name]).max() <= 1e-4 * max(scale, 1.0), name
    assert np.allclose(probs, ref["predictions"], atol=1e-5)
    assert probs.shape == (7,) and abs(probs.sum() - 1) < 1e-5


def test_batchnorm_eps_matters(astronaut_crop):
    """The file's BN eps is 1e-3; torch's default 1e-5 would change activations by far more than
    the tolerance of the layer-by-layer test, so that test would catch a wrong eps."""
    from emotive.evaluators.face.fer import KerasBatchNorm, MiniXception, load_keras_into

    model = load_fer_model()
    assert model.bn1.eps == pytest.approx(1e-3)
    other = load_keras_into(MiniXception())
    for m in other.modules():
        if isinstance(m, KerasBatchNorm):
            m.eps = 1e-5
    x = preprocess(astronaut_crop)
    with torch.no_grad():
        a, b = model.features(x)[0], other.features(x)[0]
    assert float((a - b).abs().max() / a.abs().max()) > 1e-2


def test_astronaut_is_happy(astronaut_crop):
    p = classify_crops(astronaut_crop[None])[0]
    assert FER2013_LABELS[int(p.argmax())] == "happy" and p.max() > 0.8


def test_grace_hopper_is_neutral():
    """Grace Hopper's official portrait (matplotlib sample data, US Navy, public domain): a composed face."""
    import matplotlib.cbook

    from emotive.evaluators.face.analysis import analyze_face
    from emotive.evaluators.face.images import load_image

    img = load_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    p = classify_crops(face_crop(img, analyze_face(img).landmarks)[None])[0]
    assert FER2013_LABELS[int(p.argmax())] == "neutral"


def test_crop_undoes_in_plane_roll(astronaut_crop):
    """Rotating the photo by 20 degrees about the face leaves the upright crop (nearly) unchanged; the old
    axis-aligned crop changes a lot, and the recogniser's answer with it (see ``face_crop``)."""
    import cv2

    from emotive.evaluators.face.analysis import analyze_face
    from emotive.evaluators.face.fer import face_roll

    img = skimage.data.astronaut()
    lm = analyze_face(img).landmarks[:, :2]
    c = lm.mean(axis=0)
    m = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), 20.0, 1.0)
    rotated = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    lm_r = np.c_[lm, np.ones(len(lm))] @ m.T
    assert face_roll(lm_r) == pytest.approx(face_roll(lm) - 20.0, abs=1e-6)
    diff = lambda a, b: float(np.abs(a.astype(float) - b.astype(float)).mean())  # noqa: E731
    assert diff(face_crop(rotated, lm_r), face_crop(img, lm)) < 4.0
    assert diff(face_crop(rotated, lm_r, upright=False), face_crop(img, lm, upright=False)) > 12.0
    assert np.array_equal(face_crop(img, lm), astronaut_crop)


def test_non_faces_are_not_confident_happy():
    """Textures (skimage brick, grass) are not faces: the recogniser must not be sure they smile."""
    import cv2

    crops = [
        cv2.resize(skimage.color.rgb2gray(im) if im.ndim == 3 else im, (64, 64))
        for im in (skimage.data.brick(), skimage.data.grass())
    ]
    crops = [np.clip(c * (255 if c.max() <= 1 else 1), 0, 255).astype(np.uint8) for c in crops]
    p = classify_crops(np.stack(crops))
    assert (p[:, FER2013_LABELS.index("happy")] < 0.8).all()


def test_mapping_to_canonical_labels():
    eye = np.eye(7)
    mapped = fer_to_canonical(eye)
    assert mapped.shape == (7, 8) and np.allclose(mapped.sum(axis=1), 1)
    for i, fer_name in enumerate(FER2013_LABELS):
        assert LABELS[int(mapped[i].argmax())].startswith(fer_name[:4])
    assert np.allclose(mapped[:, LABELS.index("calm")], 0)
