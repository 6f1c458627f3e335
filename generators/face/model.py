"""The motion denoiser: a transformer over motion windows, conditioned on audio and emotion.

x_t [B, T, 58] (normalised motion with noise at step t) -> predicted clean motion x_0 [B, T, 58]
(diffusers ``prediction_type="sample"``, as in MDM, Tevet et al. 2023, which makes the
temporal smoothness of the output easy to learn). Conditioning:

- audio: per-frame features [B, T, 162] (:mod:`.audio_features`) through a 1-D conv stem
  (receptive field ±2 frames), added to the motion tokens;
- emotion: ``EmotionEncoder`` (the project's shared encoder, with its learned null embedding for
  classifier-free guidance) plus the diffusion step embedding, applied to every block through
  adaptive layer norm (scale/shift, DiT-style: Peebles & Xie 2023).
"""

from __future__ import annotations

import math

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from emotive.conditioning.encoder import EmotionEncoder
from emotive.generators.face.audio_features import FEATURE_DIM
from emotive.generators.face.motion import MOTION_DIM

FORMAT_VERSION = 1


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding [B, dim] of diffusion steps t [B]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    a = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=-1)


class AdaLNBlock(nn.Module):
    """Pre-norm transformer block whose norms are modulated by the conditioning vector."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, dim))
        self.mod = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.mod.weight)
        nn.init.zeros_(self.mod.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        s1, b1, g1, s2, b2, g2 = self.mod(c)[:, None].chunk(6, dim=-1)
        h = self.norm1(x) * (1 + s1) + b1
        x = x + g1 * self.attn(h, h, h, need_weights=False)[0]
        h = self.norm2(x) * (1 + s2) + b2
        return x + g2 * self.ff(h)


class MotionDenoiser(ModelMixin, ConfigMixin):
    """Denoiser over motion windows (see module docstring).

    Args:
        dim: model width. layers, heads, ff: transformer size. emotion_dim: EmotionEncoder width.
        max_frames: longest window (positional table). dropout: attention/FF dropout.
    """

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        motion_dim: int = MOTION_DIM,
        audio_dim: int = FEATURE_DIM,
        dim: int = 192,
        layers: int = 4,
        heads: int = 4,
        ff: int = 512,
        emotion_dim: int = 64,
        max_frames: int = 256,
        dropout: float = 0.1,
        format_version: int = FORMAT_VERSION,
    ):
        super().__init__()
        self.in_proj = nn.Linear(motion_dim, dim)
        self.audio = nn.Sequential(
            nn.Conv1d(audio_dim, dim, 3, padding=1), nn.GELU(), nn.Conv1d(dim, dim, 3, padding=1)
        )
        self.pos = nn.Parameter(torch.randn(max_frames, dim) * 0.02)
        self.emotion = EmotionEncoder(dim=emotion_dim)
        self.cond = nn.Sequential(nn.Linear(dim + emotion_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList([AdaLNBlock(dim, heads, ff, dropout) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.out = nn.Linear(dim, motion_dim)
        # Motion normalisation statistics (set from the training data; saved with the weights).
        self.register_buffer("motion_mean", torch.zeros(motion_dim))
        self.register_buffer("motion_std", torch.ones(motion_dim))

    def normalise(self, m: torch.Tensor) -> torch.Tensor:
        return (m - self.motion_mean) / self.motion_std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.motion_std + self.motion_mean

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        audio: torch.Tensor,
        emotion: torch.Tensor,
        drop_emotion: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict x_0.

        Args:
            x: noisy normalised motion [B, T, 58].
            t: diffusion steps [B] (int).
            audio: audio features [B, T, 162].
            emotion: emotion features [B, 12] (``emotion_features``).
            drop_emotion: bool [B]; True -> the EmotionEncoder's null embedding (CFG).
        Returns:
            x_0 estimate [B, T, 58] (normalised).
        """
        T = x.shape[1]
        h = self.in_proj(x) + self.audio(audio.transpose(1, 2)).transpose(1, 2) + self.pos[:T]
        e = self.emotion(emotion, drop_mask=drop_emotion)
        c = self.cond(torch.cat([timestep_embedding(t, self.config.dim), e], dim=-1))
        for b in self.blocks:
            h = b(h, c)
        return self.out(self.norm(h))
