"""Canonical emotion labels, their VAD centroids, and maps from other label sets.

The canonical set is RAVDESS's eight. Other corpora's labels map onto it with the
tables below (a mapping is a distribution, so "contempt" can split its mass).
"""

from __future__ import annotations

from types import MappingProxyType

LABELS: tuple[str, ...] = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
"""The 8 canonical labels, in the fixed order every probability vector uses."""

NUM_LABELS = len(LABELS)
LABEL_INDEX = MappingProxyType({name: i for i, name in enumerate(LABELS)})

# Valence, arousal, dominance centroids in [-1, 1], the full-intensity point of
# each label. Source: Russell, J. A. & Mehrabian, A. (1977), "Evidence for a
# three-factor theory of emotions", J. Research in Personality 11, 273-294,
# Table 1 (PAD ratings of 151 emotion terms), as tabulated for basic emotions in
# Gebhard, P. (2005), "ALMA - A Layered Model of Affect", AAMAS'05, Table 1
# (anger, fear, joy->happy uses R&M's "happy"). Terms used per label:
#   happy     <- "happy"            sad       <- "sad"
#   angry     <- "angry"            fearful   <- "afraid/fear"
#   disgusted <- "disgusted"        surprised <- "surprised"
#   calm      <- "relaxed"          neutral   <- the origin by definition
# These are transcribed from the published tables (not re-estimated here).
VAD_CENTROIDS: MappingProxyType[str, tuple[float, float, float]] = MappingProxyType(
    {
        "neutral": (0.00, 0.00, 0.00),
        "calm": (0.68, -0.46, 0.06),
        "happy": (0.81, 0.51, 0.46),
        "sad": (-0.63, -0.27, -0.33),
        "angry": (-0.51, 0.59, 0.25),
        "fearful": (-0.64, 0.60, -0.43),
        "disgusted": (-0.60, 0.35, 0.11),
        "surprised": (0.40, 0.67, -0.13),
    }
)

# Spellings users type for the canonical labels (exact label parsing only; free
# text goes through the text resolver).
LABEL_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {
        "neutral": "neutral", "neu": "neutral", "none": "neutral",
        "calm": "calm", "relaxed": "calm", "peaceful": "calm",
        "happy": "happy", "happiness": "happy", "joy": "happy", "joyful": "happy", "hap": "happy",
        "sad": "sad", "sadness": "sad", "sorrow": "sad",
        "angry": "angry", "anger": "angry", "ang": "angry", "mad": "angry",
        "fearful": "fearful", "fear": "fearful", "afraid": "fearful", "scared": "fearful",
        "disgusted": "disgusted", "disgust": "disgusted",
        "surprised": "surprised", "surprise": "surprised", "sur": "surprised",
    }
)

# --- other label sets -> distributions over ours ------------------------------
# MEAD: 8 emotions incl. contempt (Wang et al., ECCV 2020). Contempt has no
# canonical counterpart; it is closest to disgust (Ekman & Friesen 1986 put it
# beside disgust) with some anger.
MEAD_MAP = MappingProxyType(
    {
        "neutral": {"neutral": 1.0},
        "happy": {"happy": 1.0},
        "sad": {"sad": 1.0},
        "angry": {"angry": 1.0},
        "fear": {"fearful": 1.0},
        "disgusted": {"disgusted": 1.0},
        "surprised": {"surprised": 1.0},
        "contempt": {"disgusted": 0.7, "angry": 0.3},
    }
)
# ESD (Zhou et al., 2021): 5 emotions.
ESD_MAP = MappingProxyType(
    {
        "neutral": {"neutral": 1.0},
        "happy": {"happy": 1.0},
        "sad": {"sad": 1.0},
        "angry": {"angry": 1.0},
        "surprise": {"surprised": 1.0},
    }
)
# FER2013 (Goodfellow et al., 2013): 7 classes, index order of the dataset.
FER2013_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER2013_MAP = MappingProxyType(
    {
        "angry": {"angry": 1.0},
        "disgust": {"disgusted": 1.0},
        "fear": {"fearful": 1.0},
        "happy": {"happy": 1.0},
        "sad": {"sad": 1.0},
        "surprise": {"surprised": 1.0},
        "neutral": {"neutral": 1.0},
    }
)
# RAVDESS (Livingstone & Russo, 2018): file-name emotion codes 01..08 = our order.
RAVDESS_CODES = MappingProxyType({f"{i + 1:02d}": name for i, name in enumerate(LABELS)})
RAVDESS_MAP = MappingProxyType({name: {name: 1.0} for name in LABELS})
# EMOPIA quadrants (Hung et al., ISMIR 2021) of Russell's valence-arousal plane:
# Q1 +V+A, Q2 -V+A, Q3 -V-A, Q4 +V-A.
EMOPIA_MAP = MappingProxyType(
    {
        "Q1": {"happy": 0.8, "surprised": 0.2},
        "Q2": {"angry": 0.45, "fearful": 0.35, "disgusted": 0.2},
        "Q3": {"sad": 1.0},
        "Q4": {"calm": 1.0},
    }
)
# EmoV-DB (Adigwe et al., 2018): amused, angry, disgusted, neutral, sleepy.
EMOVDB_MAP = MappingProxyType(
    {
        "amused": {"happy": 1.0},
        "angry": {"angry": 1.0},
        "disgusted": {"disgusted": 1.0},
        "neutral": {"neutral": 1.0},
        "sleepy": {"calm": 0.7, "sad": 0.3},
    }
)

LABEL_SETS = MappingProxyType(
    {
        "mead": MEAD_MAP,
        "esd": ESD_MAP,
        "fer2013": FER2013_MAP,
        "ravdess": RAVDESS_MAP,
        "emopia": EMOPIA_MAP,
        "emovdb": EMOVDB_MAP,
    }
)


def quadrant_of(valence: float, arousal: float) -> str:
    """EMOPIA/Russell quadrant (Q1..Q4) of a valence-arousal point."""
    if valence >= 0:
        return "Q1" if arousal >= 0 else "Q4"
    return "Q2" if arousal >= 0 else "Q3"
