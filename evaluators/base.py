"""The evaluator interface: ``evaluate(output_or_path, target) -> Verdict``.

A judge never imports a generator (shared/DESIGN.md); it sees outputs as files
or arrays. Verdicts drive reports, best-of-N reranking and tests.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from emotive.conditioning import LABELS, Emotion


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and callable(x.item):
        try:
            x = x.item()
        except (ValueError, TypeError):
            return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass(frozen=True)
class Verdict:
    """What an evaluator concludes about one output.

    Attributes:
        modality: "speech" | "face" | "music" | "text".
        probs: per-label probabilities, canonical label order (``LABELS``).
        vad: predicted (valence, arousal, dominance).
        target: the requested emotion.
        matches: whether the prediction matches the target (modality-specific rule).
        figures: modality quality figures (``{"wer": 0.04, "lipsync_r": 0.7, ...}``).
    """

    modality: str
    probs: tuple[float, ...]
    vad: tuple[float, float, float]
    target: Emotion | None
    matches: bool
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS[max(range(len(self.probs)), key=lambda i: self.probs[i])]

    @property
    def predicted(self) -> Emotion:
        return Emotion.from_distribution(self.probs)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "modality": self.modality,
                "label": self.label,
                "probs": dict(zip(LABELS, self.probs)),
                "vad": {"valence": self.vad[0], "arousal": self.vad[1], "dominance": self.vad[2]},
                "target": None if self.target is None else self.target.to_dict(),
                "matches": self.matches,
                "figures": self.figures,
            }
        )

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def summary(self) -> str:
        """One line for terminals: ``happy 81% (target happy) MATCH | wer=0.04``."""
        top = max(self.probs)
        tgt = f" (target {self.target.label})" if self.target is not None else ""
        figs = " ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.figures.items() if v is not None
        )
        return f"{self.label} {top:.0%}{tgt} {'MATCH' if self.matches else 'NO MATCH'}{' | ' + figs if figs else ''}"


class Evaluator(Protocol):
    """Anything with ``evaluate(output_or_path, target) -> Verdict``."""

    modality: str

    def evaluate(self, output: Any, target: Emotion | str | None = None) -> Verdict: ...


def label_match(probs: tuple[float, ...], target: Emotion | None) -> bool:
    """The default match rule: the top predicted label is the target's top label."""
    if target is None:
        return False
    return LABELS[max(range(len(probs)), key=lambda i: probs[i])] == target.label
