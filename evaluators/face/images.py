"""Reading portraits: any path or array -> RGB uint8 [H, W, 3], with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from emotive.evaluators.face.errors import ImageInputError

MIN_IMAGE_SIDE = 32
"""Smallest image side (px) accepted at all; faces need far more (see analysis.MIN_FACE_PX)."""
MAX_IMAGE_SIDE = 8192
"""Largest side accepted (px): bigger photos are refused rather than exhausting memory."""


def to_rgb_uint8(img: np.ndarray, what: str = "the image") -> np.ndarray:
    """Normalise an array to contiguous RGB uint8 [H, W, 3].

    Accepts grey [H, W], grey+channel [H, W, 1], RGB, RGBA (alpha dropped);
    float arrays in [0, 1] and 16-bit arrays are rescaled.
    """
    a = np.asarray(img)
    if a.dtype == object or a.ndim not in (2, 3) or a.size == 0:
        raise ImageInputError(f"{what} is not an image array (shape {a.shape}, dtype {a.dtype}).")
    if a.ndim == 3 and a.shape[2] not in (1, 3, 4):
        raise ImageInputError(f"{what} has {a.shape[2]} channels; expected grey, RGB or RGBA.")
    if a.dtype == np.uint16:
        a = (a / 257.0).round().astype(np.uint8)
    elif a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise ImageInputError(f"{what} contains NaN or infinite pixel values.")
        scale = 255.0 if a.max(initial=0.0) <= 1.0 else 1.0
        a = np.clip(a * scale, 0, 255).round().astype(np.uint8)
    elif a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    h, w = a.shape[:2]
    if min(h, w) < MIN_IMAGE_SIDE:
        raise ImageInputError(
            f"{what[:1].upper()}{what[1:]} is only {w}x{h} px; a portrait needs at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} "
            "(and a face at least 64 px wide)."
        )
    if max(h, w) > MAX_IMAGE_SIDE:
        raise ImageInputError(
            f"{what[:1].upper()}{what[1:]} is {w}x{h} px; the limit is {MAX_IMAGE_SIDE} px per side. Resize it first."
        )
    return np.ascontiguousarray(a)


def load_image(src: str | os.PathLike | np.ndarray) -> np.ndarray:
    """Read a portrait from a path (PNG, JPEG, WebP, BMP, TIFF, first frame of a GIF) or an array.

    Returns:
        RGB uint8 array [H, W, 3].

    Raises:
        ImageInputError: missing file, not an image, degenerate size.
    """
    if not isinstance(src, str | os.PathLike):
        return to_rgb_uint8(src)
    p = Path(src)
    if not p.exists():
        raise ImageInputError(f"The image '{p}' does not exist.")
    if p.is_dir():
        raise ImageInputError(f"'{p}' is a folder, not an image file.")
    import cv2

    data = np.fromfile(p, dtype=np.uint8)
    if data.size == 0:
        raise ImageInputError(f"The image '{p}' is empty (0 bytes).")
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        # GIF and some other formats: try imageio before giving up.
        try:
            import imageio.v3 as iio

            img = iio.imread(p, index=0)
        except Exception:  # any decoder failure means "not an image"
            raise ImageInputError(
                f"'{p}' is not a readable image (tried PNG/JPEG/WebP/BMP/TIFF/GIF decoders)."
            ) from None
        return to_rgb_uint8(img, what=f"'{p.name}'")
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[:, :, ::-1]
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, [2, 1, 0, 3]]
    return to_rgb_uint8(img, what=f"'{p.name}'")
