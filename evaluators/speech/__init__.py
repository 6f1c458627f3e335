"""Speech judges: the emotion recogniser (``ser``), Whisper intelligibility (``asr``) and naturalness (Distill-MOS).

``evaluate_speech`` runs all three on one output and returns one :class:`~emotive.evaluators.base.Verdict`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def evaluate_speech(
    output: np.ndarray | str | Path,
    sr: int | None = None,
    target=None,
    text: str | None = None,
    reference: list | np.ndarray | None = None,
    model: str | None = None,
):
    """The recogniser's verdict (probabilities, VAD, match; WER/CER with ``text``) plus ``figures["mos"]``,
    the Distill-MOS naturalness (1-5)."""
    from dataclasses import replace

    from emotive.evaluators.speech.audio import load_speech, validate
    from emotive.evaluators.speech.naturalness import naturalness
    from emotive.evaluators.speech.ser import SpeechEmotionRecognizer

    sa = load_speech(output) if isinstance(output, str | Path) else validate(output, int(sr or 0))
    v = SpeechEmotionRecognizer.from_pretrained(model).evaluate(sa.audio, target, sr=sa.sr, text=text,
                                                               reference=reference)
    return replace(v, figures={**v.figures, "mos": round(naturalness(sa.audio, sa.sr), 3)})
