"""Bar VQ-VAE: a bar's 16-step grid ``[B, 16]`` -> ``K`` discrete codes -> the same bar.

The bar arrives as REMI tokens (``tokenizer.BarTokenizer``) and is read as its
lossless step grid (``bars_to_grid``: per sixteenth, rest / hold / onset of a
pitch), which makes the model a small 1-D convolutional network (Jukebox-style
VQ-VAE, Dhariwal et al. 2020; the VQ bottleneck of van den Oord et al. 2017):

encoder: step embeddings ``[B, 16, E]`` -> conv (k3) -> strided conv (/2) -> conv
-> ``K = 8`` latents per bar (one per two sixteenths, with overlapping receptive
fields) -> one shared codebook (EMA updates, Razavi et al. 2019; dead entries
restarted from batch encodings as in Jukebox);
decoder: codes -> conv -> transposed conv (x2) -> conv -> per-step symbol logits.
A whole bar is decoded in one pass, so decoding 16 bars costs a millisecond.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class VQVAEConfig:
    vocab_size: int = 46  # grid symbols: rest, hold, 44 pitches (MIDI 48-91)
    steps: int = 16  # sixteenths per 4/4 bar
    embed_dim: int = 64
    channels: int = 192  # conv width
    codes_per_bar: int = 8  # K: one latent per two steps (steps / 2)
    codebook_size: int = 256
    code_dim: int = 32
    commitment: float = 0.25  # beta of the commitment loss (van den Oord et al. 2017)
    ema_decay: float = 0.99

    @classmethod
    def tiny(cls, vocab_size: int = 46) -> VQVAEConfig:
        """A test preset (builds and trains in seconds)."""
        return cls(vocab_size=vocab_size, embed_dim=16, channels=32, codebook_size=32, code_dim=8)

    def to_dict(self) -> dict:
        return asdict(self)


class EMAQuantizer(nn.Module):
    """Nearest-neighbour codebook with EMA updates and dead-code restarts.

    Input ``[B, K, D]``; returns quantised ``[B, K, D]`` (straight-through), codes ``[B, K]``, commitment loss.
    """

    def __init__(self, size: int, dim: int, decay: float) -> None:
        super().__init__()
        self.size, self.dim, self.decay = size, dim, decay
        embed = torch.randn(size, dim)
        self.register_buffer("embed", embed)
        self.register_buffer("cluster_size", torch.ones(size))
        self.register_buffer("embed_sum", embed.clone())

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        flat = z.reshape(-1, self.dim)
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embed.t() + self.embed.pow(2).sum(1)[None]
        return d.argmin(1).view(z.shape[:-1])

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        return F.embedding(codes, self.embed)

    def forward(self, z: torch.Tensor, generator: torch.Generator | None = None):
        codes = self.codes(z)
        q = self.lookup(codes)
        if self.training:
            with torch.no_grad():
                flat = z.reshape(-1, self.dim)
                onehot = F.one_hot(codes.reshape(-1), self.size).type_as(flat)
                self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
                self.embed_sum.mul_(self.decay).add_(onehot.t() @ flat, alpha=1 - self.decay)
                total = self.cluster_size.sum()
                size = (self.cluster_size + 1e-5) / (total + self.size * 1e-5) * total
                self.embed.copy_(self.embed_sum / size[:, None])
                dead = self.cluster_size < 0.05
                if dead.any():  # restart unused codes from random encodings of this batch
                    idx = torch.randint(0, flat.shape[0], (int(dead.sum()),), generator=generator)
                    self.embed[dead] = flat[idx]
                    self.embed_sum[dead] = flat[idx]
                    self.cluster_size[dead] = 1.0
        loss = F.mse_loss(z, q.detach())
        q = z + (q - z).detach()
        return q, codes, loss


class BarVQVAE(nn.Module):
    """Bar grids ``[B, 16]`` <-> codes ``[B, K]`` (see module docstring)."""

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        c = self.config = config
        if c.steps != 2 * c.codes_per_bar:
            raise ValueError("codes_per_bar must be steps / 2 (one strided-by-2 stage)")
        ch = c.channels
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.pos = nn.Parameter(torch.randn(c.embed_dim, c.steps) * 0.02)
        self.encoder = nn.Sequential(
            nn.Conv1d(c.embed_dim, ch, 3, padding=1),
            nn.GELU(),
            nn.Conv1d(ch, ch, 4, stride=2, padding=1),
            nn.GELU(),
            nn.Conv1d(ch, ch, 3, padding=1),
            nn.GELU(),
            nn.Conv1d(ch, c.code_dim, 1),
        )
        self.quant = EMAQuantizer(c.codebook_size, c.code_dim, c.ema_decay)
        self.decoder = nn.Sequential(
            nn.Conv1d(c.code_dim, ch, 3, padding=1),
            nn.GELU(),
            nn.ConvTranspose1d(ch, ch, 4, stride=2, padding=1),
            nn.GELU(),
            nn.Conv1d(ch, ch, 3, padding=1),
            nn.GELU(),
            nn.Conv1d(ch, c.vocab_size, 1),
        )
        self.dec_pos = nn.Parameter(torch.randn(ch, c.steps) * 0.02)

    def encode_latent(self, grid: torch.Tensor) -> torch.Tensor:
        """``[B, 16]`` symbols -> latents ``[B, K, code_dim]``."""
        x = self.embed(grid).transpose(1, 2) + self.pos
        return self.encoder(x).transpose(1, 2)

    @torch.no_grad()
    def encode(self, grid: torch.Tensor) -> torch.Tensor:
        """``[B, 16]`` grid symbols -> ``[B, K]`` codes in ``[0, codebook_size)``."""
        return self.quant.codes(self.encode_latent(grid))

    def decode_logits(self, q: torch.Tensor) -> torch.Tensor:
        """Quantised vectors ``[B, K, code_dim]`` -> symbol logits ``[B, 16, vocab]``."""
        h = q.transpose(1, 2)
        h = self.decoder[:4](h) + self.dec_pos  # position after upsampling
        return self.decoder[4:](h).transpose(1, 2)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``[B, K]`` codes -> ``[B, 16]`` grid symbols (argmax)."""
        return self.decode_logits(self.quant.lookup(codes)).argmax(-1)

    def forward(self, grid: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Training pass: ``loss``, ``recon`` (CE), ``commit``, ``codes [B, K]``, ``logits [B, 16, vocab]``."""
        z = self.encode_latent(grid)
        q, codes, commit = self.quant(z, generator)
        logits = self.decode_logits(q)
        recon = F.cross_entropy(logits.transpose(1, 2), grid)
        return {"loss": recon + self.config.commitment * commit, "recon": recon, "commit": commit, "codes": codes, "logits": logits}
