"""User-facing errors of face analysis (all derive from ``EmotiveError``)."""

from __future__ import annotations

from emotive.conditioning.errors import EmotiveError


class FaceError(EmotiveError, ValueError):
    """A portrait or frame cannot be used as a face."""


class ImageInputError(FaceError):
    """The file is not a readable image (or video), or the image is degenerate."""


class NoFaceError(FaceError):
    """No face was found in the image."""


class FaceTooSmallError(FaceError):
    """A face was found but is too small to animate or judge reliably."""


class FaceCutOffError(FaceError):
    """A face was found but a large part of it lies outside the image."""
