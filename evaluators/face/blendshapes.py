"""The 52 ARKit blendshape names: the axes of emotive's face motion space.

Names and order follow Apple's ``ARFaceAnchor.BlendShapeLocation`` documentation
(grouped eyes, jaw, mouth, brows, cheeks, nose, tongue). "Left"/"Right" are the
*subject's* left and right (ARKit convention), i.e. "Left" appears on the image's
right side in an unmirrored photo.

MediaPipe's blendshape model (``face_blendshapes.tflite``) outputs 52 scores:
``_neutral`` plus 51 ARKit names; it has no ``tongueOut``. :data:`MEDIAPIPE_MISSING`
lists what a MediaPipe read-back cannot measure.
"""

from __future__ import annotations

from types import MappingProxyType

ARKIT_NAMES: tuple[str, ...] = (
    # eyes (14)
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    # jaw (4)
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    # mouth (23)
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    # brows (5)
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    # cheeks (3)
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    # nose (2)
    "noseSneerLeft", "noseSneerRight",
    # tongue (1)
    "tongueOut",
)  # fmt: skip
"""The 52 ARKit blendshape names in Apple's documented order."""

NUM_BLENDSHAPES = len(ARKIT_NAMES)
BLENDSHAPE_INDEX = MappingProxyType({n: i for i, n in enumerate(ARKIT_NAMES)})
MEDIAPIPE_MISSING: tuple[str, ...] = ("tongueOut",)
"""ARKit names MediaPipe's blendshape model does not estimate (read back as 0)."""

assert NUM_BLENDSHAPES == 52 and len(set(ARKIT_NAMES)) == 52


def index_of(name: str) -> int:
    """Index of an ARKit name in :data:`ARKIT_NAMES` (KeyError with the valid names otherwise)."""
    try:
        return BLENDSHAPE_INDEX[name]
    except KeyError:
        raise KeyError(f"unknown ARKit blendshape {name!r}; valid names: {', '.join(ARKIT_NAMES)}") from None
