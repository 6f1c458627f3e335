"""emotive.conditioning: the shared emotion-conditioning layer.

``Emotion`` (the value type), label tables, the text resolver, and
``EmotionEncoder`` (torch; imported lazily so that importing this package stays
fast and loads no model).
"""

from emotive.conditioning.emotion import Emotion, as_emotion
from emotive.conditioning.errors import EmotionError, EmotiveError
from emotive.conditioning.labels import LABELS, NUM_LABELS, VAD_CENTROIDS, quadrant_of

__all__ = [
    "LABELS",
    "NUM_LABELS",
    "VAD_CENTROIDS",
    "ConditionDropout",
    "Emotion",
    "EmotionEncoder",
    "EmotionError",
    "EmotiveError",
    "as_emotion",
    "quadrant_of",
]


def __getattr__(name: str):
    if name in ("EmotionEncoder", "ConditionDropout", "emotion_features"):
        from emotive.conditioning import encoder

        return getattr(encoder, name)
    raise AttributeError(f"module 'emotive.conditioning' has no attribute {name!r}")
