"""``EmotionEncoder``: a batch of :class:`Emotion` -> ``[B, D]`` conditioning vectors.

Every generator conditions on this module's output. The input features are the
label distribution (8), the VAD point (3) and the intensity (1); an MLP maps them
to ``dim``. A learned *null* embedding stands for "no emotion" so that
classifier-free guidance can contrast conditional and unconditional predictions;
the guidance scale is the emotion-strength knob. :class:`ConditionDropout`
replaces conditions by the null embedding during training, from its own
``torch.Generator`` so that dropout does not disturb other randomness.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from emotive.conditioning.emotion import Emotion
from emotive.conditioning.labels import NUM_LABELS

FEATURE_DIM = NUM_LABELS + 3 + 1  # probs, vad, intensity


def emotion_features(emotions: Sequence[Emotion | str] | Emotion | str) -> torch.Tensor:
    """Numeric features of emotions: ``[B, 12]`` float32 = probs(8) | vad(3) | intensity(1)."""
    if isinstance(emotions, Emotion | str):
        emotions = [emotions]
    rows = []
    for e in emotions:
        e = Emotion.parse(e)
        rows.append([*e.probs, *e.vad, e.intensity])
    return torch.tensor(rows, dtype=torch.float32)


class EmotionEncoder(nn.Module):
    """Emotion features -> embedding ``[B, dim]``, with a learned null embedding for CFG.

    Args:
        dim: output size (the generator's conditioning width).
        hidden: MLP hidden width.
    """

    def __init__(self, dim: int = 128, hidden: int = 128) -> None:
        super().__init__()
        self.dim = dim
        self.net = nn.Sequential(
            nn.Linear(FEATURE_DIM, hidden),
            nn.SiLU(),
            nn.Linear(hidden, dim),
        )
        self.null_embedding = nn.Parameter(torch.zeros(dim))
        nn.init.normal_(self.null_embedding, std=0.02)

    def forward(
        self,
        emotions: Sequence[Emotion | str] | torch.Tensor | None,
        drop_mask: torch.Tensor | None = None,
        batch_size: int | None = None,
    ) -> torch.Tensor:
        """Embed emotions.

        Args:
            emotions: a list of Emotions (or specs), a ``[B, 12]`` feature tensor,
                or ``None`` for the null (unconditional) embedding.
            drop_mask: optional ``[B]`` bool tensor; True rows get the null embedding.
            batch_size: with ``emotions=None``, how many null rows to return.
        Returns:
            ``[B, dim]`` float tensor.
        """
        if emotions is None:
            n = 1 if batch_size is None else batch_size
            return self.null_embedding.unsqueeze(0).expand(n, -1)
        feats = emotions if isinstance(emotions, torch.Tensor) else emotion_features(emotions)
        feats = feats.to(self.null_embedding.device, self.null_embedding.dtype)
        if feats.ndim != 2 or feats.shape[1] != FEATURE_DIM:
            raise ValueError(f"emotion features must be [B, {FEATURE_DIM}], got {tuple(feats.shape)}")
        out = self.net(feats)
        if drop_mask is not None:
            out = torch.where(drop_mask.to(out.device).view(-1, 1), self.null_embedding.expand_as(out), out)
        return out

    def null(self, batch_size: int = 1) -> torch.Tensor:
        """The unconditional embedding, ``[batch_size, dim]``."""
        return self.forward(None, batch_size=batch_size)


class ConditionDropout:
    """Drops conditions with probability ``p`` for classifier-free guidance training.

    Its randomness comes from its own generator (seeded once), so enabling CFG
    dropout does not change the data order or the model's initialisation.
    """

    def __init__(self, p: float = 0.1, seed: int = 0) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p
        self.generator = torch.Generator().manual_seed(seed)

    def mask(self, batch_size: int) -> torch.Tensor:
        """``[batch_size]`` bool: True where the condition is dropped."""
        return torch.rand(batch_size, generator=self.generator) < self.p

    def state_dict(self) -> dict:
        return {"p": self.p, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.p = state["p"]
        self.generator.set_state(state["generator"])


def guided(cond: torch.Tensor, uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: ``uncond + scale * (cond - uncond)`` (scale 1 = plain conditional)."""
    return uncond + scale * (cond - uncond)
