"""Emotion/attribute-conditioned transformer prior over bar codes.

A piece of ``N`` bars is the code sequence ``[BOS, c(1,1..K), c(2,1..K), ..., c(N,1..K)]``
(``K`` codes per bar). Every position gets embeddings for its code, its slot within
the bar (1..K), its bar index, and how many bars remain until the end (so the
model learns endings: a piece's last bars look like endings). The condition is
one vector added to every position: ``EmotionEncoder(emotion)`` plus learned
embeddings of three attribute faders - mode (major/minor), note-density class
and register class - each with a *null* entry. Training drops the emotion and each
attribute independently to null (``ConditionDropout``) so that sampling can apply
classifier-free guidance (Ho & Salimans, 2022): ``guided(cond, uncond, scale)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from emotive.conditioning.encoder import EmotionEncoder

NUM_MODES = 2  # 0 major, 1 minor; index NUM_MODES = null
NUM_DENSITY = 5  # onsets-per-bar classes, see attributes.density_class
NUM_REGISTER = 3  # low / middle / high mean pitch, see attributes.register_class
MAX_REMAINING = 8  # "bars until the end" is clipped here (8 = far from the end)


@dataclass
class PriorConfig:
    codebook_size: int = 256
    codes_per_bar: int = 8
    max_bars: int = 16  # bar-index table size (>= the training window; the sampler slides a window)
    dim: int = 192
    layers: int = 3  # small enough to train in ~30 min on a shared CPU core and sample 16 bars in < 1 s
    heads: int = 6
    dropout: float = 0.1
    cond_dropout: float = 0.1  # p(all conditions null) during training (CFG); each one is also dropped alone w.p. 0.1

    @classmethod
    def tiny(cls, codebook_size: int = 32, codes_per_bar: int = 8) -> PriorConfig:
        return cls(codebook_size=codebook_size, codes_per_bar=codes_per_bar, max_bars=16, dim=32, layers=1, heads=2)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def bos_id(self) -> int:
        return self.codebook_size


class Block(nn.Module):
    """Pre-norm causal self-attention + MLP, with an optional key/value cache for sampling."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], 2)
                v = torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        causal = t > 1
        if causal and k.shape[2] != t:
            raise ValueError("multi-token steps with a non-empty cache are not supported")
        a = F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=self.drop.p if self.training else 0.0)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.mlp(self.ln2(x)))


class CodePrior(nn.Module):
    """Causal transformer over bar codes. ``forward(seq [B, T], cond, total_bars) -> logits [B, T, codebook]``."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        c = self.config = config
        self.tok = nn.Embedding(c.codebook_size + 1, c.dim)  # + BOS
        self.slot = nn.Embedding(c.codes_per_bar + 1, c.dim)  # slot K = BOS position
        self.bar = nn.Embedding(c.max_bars + 1, c.dim)
        self.remaining = nn.Embedding(MAX_REMAINING + 1, c.dim)
        self.emotion = EmotionEncoder(dim=c.dim, hidden=c.dim)
        self.mode = nn.Embedding(NUM_MODES + 1, c.dim)
        self.density = nn.Embedding(NUM_DENSITY + 1, c.dim)
        self.register_ = nn.Embedding(NUM_REGISTER + 1, c.dim)
        self.blocks = nn.ModuleList(Block(c.dim, c.heads, c.dropout) for _ in range(c.layers))
        self.norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.codebook_size)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        for blk in self.blocks:  # GPT-2 scaled init of residual projections
            nn.init.normal_(blk.proj.weight, std=0.02 / math.sqrt(2 * c.layers))

    def condition(
        self,
        emotion_feats: torch.Tensor | None,
        mode: torch.Tensor,
        density: torch.Tensor,
        register: torch.Tensor,
        drop_emotion: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Condition vector ``[B, dim]``. ``emotion_feats``: ``[B, 12]`` (see ``emotion_features``) or None
        (null); attribute indices ``[B]`` long, where the class count means null."""
        b = mode.shape[0]
        e = self.emotion(None, batch_size=b) if emotion_feats is None else self.emotion(emotion_feats, drop_mask=drop_emotion)
        return e + self.mode(mode) + self.density(density) + self.register_(register)

    def embed(self, seq: torch.Tensor, start: int, cond: torch.Tensor, total_bars: torch.Tensor) -> torch.Tensor:
        """Embeddings of tokens ``seq [B, T]`` at sequence positions ``start..start+T-1`` (position 0 = BOS)."""
        k = self.config.codes_per_bar
        idx = torch.arange(start, start + seq.shape[1])
        slot = torch.where(idx == 0, torch.full_like(idx, k), (idx - 1) % k)
        bar = torch.where(idx == 0, torch.zeros_like(idx), (idx - 1) // k)
        remaining = (total_bars.view(-1, 1) - 1 - bar.view(1, -1)).clamp(0, MAX_REMAINING)
        bar = bar.clamp(max=self.config.max_bars)
        return self.tok(seq) + self.slot(slot) + self.bar(bar) + self.remaining(remaining) + cond[:, None]

    def forward(
        self, seq: torch.Tensor, cond: torch.Tensor, total_bars: torch.Tensor, cache: list[dict] | None = None, start: int = 0
    ) -> torch.Tensor:
        """``seq [B, T]`` (BOS then codes), ``cond [B, dim]``, ``total_bars [B]`` -> next-code logits ``[B, T, codebook]``.

        With ``cache`` (a list of one dict per layer) the call processes only the new tokens at
        positions ``start..``: the sampling loop feeds one token per step.
        """
        x = self.embed(seq, start, cond, total_bars)
        for i, blk in enumerate(self.blocks):
            x = blk(x, None if cache is None else cache[i])
        return self.head(self.norm(x))

    def new_cache(self) -> list[dict]:
        return [{} for _ in self.blocks]
