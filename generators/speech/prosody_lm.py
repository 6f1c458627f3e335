"""Prosody LM: Kokoro phonemes + emotion + voice -> prosody-codec tokens [1, 4, 2T], sampled frame by frame.

The loop, one step per Kokoro duration frame (25 ms = 2 codec frames), written out in :meth:`ProsodyLM.generate`:

* **Phone encoder** (bidirectional): per token (BOS/EOS included) its id embedding + Kokoro's front states
  ``d[:, :512]`` + log of Kokoro's own predicted duration, plus the global condition -> H [n, d]. Kokoro's front
  already knows the text's prosodic context; the LM learns how the emotion moves it.
* **Global condition** = ``EmotionEncoder`` output + a projection of the voice's style vector [256] (Kokoro's
  ``[:128]`` timbre and ``[128:]`` prosody halves both move F0 level). Classifier-free guidance on emotion
  (Ho & Salimans 2022): training replaces the emotion by the null embedding with probability ``cond_drop``;
  sampling mixes ``uncond + scale * (cond - uncond)`` on every head's logits: the scale is the strength knob.
* **Trunk** (causal transformer with a KV cache): input at step t = the previous step's tokens, the state of the
  token being spoken (and of the next one), how long it has lasted so far (and Kokoro's prediction for it),
  the global condition. Output h_t.
* **Heads, in order within a step** (each sees the ones before it): boundary (does a new token start here? this
  is the duration model: durations are sampled, not regressed) -> the phone index advances -> pitch of the two
  codec frames -> energy of the two -> gain. Codec frame 2t+1 never starts a token (durations are whole 25 ms).
* **Stopping**: a boundary after the last token (Kokoro's EOS) ends the utterance. Hard guards: a token never
  lasts longer than ``max_token_frames`` (a boundary is forced), and the utterance never exceeds
  ``guard_factor`` x Kokoro's predicted length + ``guard_frames`` (the remaining tokens get one frame each,
  then it ends) nor ``max_frames``. Generation always stops.

``generator=`` is the only randomness (``torch.multinomial``): the same seed gives the same take.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotive.conditioning import Emotion, EmotiveError
from emotive.conditioning.encoder import EmotionEncoder, emotion_features, guided
from emotive.generators.speech.prosody_codec import NUM_CODEBOOKS, SUBFRAMES, CodecConfig

PRETRAINED_DIR = Path(__file__).parent / "pretrained" / "prosody-lm"
LM_FORMAT_VERSION = 1
N_SUB = 6
"""Sub-tokens per step: boundary, pitch a, pitch b, energy a, energy b, gain."""
SUBFRAMES_PER_STEP = SUBFRAMES
"""Codec frames (12.5 ms) per LM step (25 ms)."""
VOCAB = 256
"""Token-id embedding size (Kokoro's table uses ids < 178; 0 is its BOS/EOS id)."""


class ProsodyLMError(EmotiveError):
    """Bad LM input (empty phonemes, wrong feature shapes) or a missing / wrong-version weights folder."""


@dataclass
class ProsodyLMConfig:
    """Architecture and sampling guards. ``codec`` is the codec the tokens belong to (its bins)."""

    codec: dict = field(default_factory=lambda: CodecConfig().to_dict())
    d_model: int = 128               # 2 shared cores: d 192 trains 1.5x slower for a ~35 min budget
    n_heads: int = 4
    layers: int = 4                  # causal trunk
    enc_layers: int = 2              # phone encoder
    ff_mult: int = 4
    dropout: float = 0.0             # < 3 epochs of data in the budget; dropout cost 17 % of a step (bernoulli)
    cond_drop: float = 0.15          # CFG training dropout of the emotion (MusicGen 0.1-0.2)
    front_dim: int = 512             # Kokoro d[:, :512]
    max_frames: int = 2000           # 50 s of 25 ms frames: one call never speaks longer
    max_token_frames: int = 80       # 2 s: no token (a pause included) lasts longer
    guard_factor: float = 2.5        # x Kokoro's predicted total: the rules slow speech by at most ~1.6 x
    guard_frames: int = 40
    neutral_ref: bool = False        # condition on Kokoro's own neutral F0/N and sample pitch relative to it
    rel_bins: int = 100              # with neutral_ref: voiced pitch classes span +-rel_bins codec bins (+-20 st)
    version: int = LM_FORMAT_VERSION

    @property
    def cardinalities(self) -> tuple[int, ...]:
        return CodecConfig(**self.codec).cardinalities

    @property
    def sub_sizes(self) -> tuple[int, ...]:
        """Classes of the six sub-tokens of a step (with ``neutral_ref`` the pitch classes are relative: see
        :func:`pitch_to_relative`)."""
        _, p, e, g = self.cardinalities
        if self.neutral_ref:
            p = CodecConfig(**self.codec).n_unvoiced + 2 * self.rel_bins + 1
        return (2, p, p, e, e, g)


def tiny_config() -> ProsodyLMConfig:
    """A tiny LM (~60 k parameters) for tests."""
    return ProsodyLMConfig(d_model=32, n_heads=2, layers=1, enc_layers=1, ff_mult=2, dropout=0.0,
                           max_frames=400, guard_frames=10)


# ---------------------------------------------------------------------- step layout
def codes_to_steps(codes: torch.Tensor) -> torch.Tensor:
    """codes [..., 4, 2T] -> step tokens [..., T, 6] (boundary, pitch a/b, energy a/b, gain of frame a)."""
    b, p, e, g = (codes[..., k, :] for k in range(NUM_CODEBOOKS))
    return torch.stack([b[..., 0::2], p[..., 0::2], p[..., 1::2], e[..., 0::2], e[..., 1::2], g[..., 0::2]], -1)


def steps_to_codes(steps: torch.Tensor) -> torch.Tensor:
    """step tokens [..., T, 6] -> codes [..., 4, 2T] (inverse of :func:`codes_to_steps`; gain held for 25 ms)."""
    def inter(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.stack([a, b], -1).flatten(-2)

    s = steps.long()
    return torch.stack([inter(s[..., 0], torch.zeros_like(s[..., 0])), inter(s[..., 1], s[..., 2]),
                        inter(s[..., 3], s[..., 4]), inter(s[..., 5], s[..., 5])], -2)


def step_context(boundary: torch.Tensor, kokoro_dur: torch.Tensor, n_tokens: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Teacher forcing: token index and position features of every step from the boundary stream.

    Args:
        boundary: [B, T] 0/1 (1 = a token starts at this step; step 0 is 1).
        kokoro_dur: [B, n] Kokoro's predicted frames per token.
        n_tokens: [B] tokens per row.
    Returns:
        idx [B, T] token spoken at each step (clamped to n-1); pos [B, T, 3] position features (:func:`pos_features`);
        elapsed [B, T] long: frames of that token so far, this one included.
    """
    idx = (torch.cumsum(boundary.long(), 1) - 1).clamp(min=0)
    idx = torch.minimum(idx, (n_tokens - 1)[:, None])
    t = torch.arange(boundary.shape[1])[None].expand_as(idx)
    start = torch.cummax(torch.where(boundary.bool(), t, torch.zeros_like(t)), 1).values
    elapsed = t - start + 1                                 # frames of this token so far, this one included
    pred = torch.gather(kokoro_dur, 1, idx)
    return idx, pos_features(elapsed.float(), pred), elapsed


# ---------------------------------------------------------------------- neutral reference
N_NEUTRAL_FEATS = 6
"""Per step: the reference pitch code of the two codec frames (scaled), their voicing, Kokoro's N of the two."""


def neutral_frames(kokoro_dur: np.ndarray) -> np.ndarray:
    """Kokoro's predicted frames per token [n] -> the whole frames its neutral reading uses (each >= 1)."""
    return np.maximum(1, np.rint(np.asarray(kokoro_dur, np.float64))).astype(np.int64)


def kokoro_neutral(kokoro, front, style: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kokoro's own neutral reading of a front (F0 [2T'] Hz, N [2T'] at :func:`neutral_frames`): the reference
    an LM trained with ``neutral_ref`` takes (``generate(..., neutral=...)``)."""
    return kokoro.prosody(front, neutral_frames(front.durations), style)


def neutral_reference(frames: np.ndarray, f0: np.ndarray, energy: np.ndarray, codec: CodecConfig | dict
                      ) -> dict[str, torch.Tensor]:
    """Kokoro's neutral reading (its F0 [2T] Hz and N [2T] at ``frames`` [n]) -> what the LM looks up per step.

    Returns ``{"ref": long [T, 2]`` the voiced pitch code of each codec frame (unvoiced frames take the nearest
    voiced frames' codes, interpolated, so every frame has a reference), ``"feat": float [T, 6]`` (reference code
    scaled, voicing, N / 10), ``"start": long [n]`` first neutral step of each token, ``"frames": long [n]}``.
    """
    c = codec if isinstance(codec, CodecConfig) else CodecConfig(**codec)
    fr = np.asarray(frames, np.int64)
    f = np.asarray(f0, np.float64).reshape(-1)
    n = np.asarray(energy, np.float64).reshape(-1)
    if len(f) != SUBFRAMES_PER_STEP * int(fr.sum()) or len(n) != len(f):
        raise ProsodyLMError("the neutral F0/N must cover the neutral frames (2 per 25 ms step)")
    voiced = f >= c.f0_min_hz
    code = c.n_unvoiced + np.clip(12 * np.log2(np.maximum(f, c.f0_min_hz) / c.f0_min_hz) / c.f0_step_st,
                                  0, c.n_voiced - 1)
    if voiced.any():
        pos = np.flatnonzero(voiced)
        code = np.interp(np.arange(len(f)), pos, code[pos])
    else:
        code = np.full(len(f), c.n_unvoiced + (c.n_voiced - 1) / 2)   # no voiced frame: the middle of the range
    ref = np.rint(code).astype(np.int64)
    mid = c.n_unvoiced + c.n_voiced / 2
    feat = np.stack([(code - mid) / 60, voiced.astype(np.float64), n / 10], -1)   # [2T, 3]
    feat = feat.reshape(-1, 2, 3).transpose(0, 2, 1).reshape(-1, N_NEUTRAL_FEATS)  # [T, 6]: codes, voicing, N
    return {"ref": torch.from_numpy(ref.reshape(-1, 2)), "feat": torch.from_numpy(feat.astype(np.float32)),
            "start": torch.from_numpy(np.cumsum(fr) - fr), "frames": torch.from_numpy(fr)}


def reference_at(neutral: dict[str, torch.Tensor], idx: torch.Tensor, elapsed: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched lookup: the neutral step under token ``idx`` [B, T] at its ``elapsed``-th frame (a token longer
    than its neutral reading stays on its last neutral frame) -> (ref [B, T, 2], feat [B, T, 6])."""
    start = torch.gather(neutral["start"], 1, idx)
    length = torch.gather(neutral["frames"], 1, idx)
    j = start + torch.minimum(elapsed.clamp(min=1), length) - 1
    j = j.clamp(0, neutral["ref"].shape[1] - 1)
    ref = torch.gather(neutral["ref"], 1, j[..., None].expand(*j.shape, 2))
    feat = torch.gather(neutral["feat"], 1, j[..., None].expand(*j.shape, N_NEUTRAL_FEATS))
    return ref, feat


def pitch_to_relative(codes: torch.Tensor, ref: torch.Tensor, n_unvoiced: int, rel_bins: int) -> torch.Tensor:
    """Absolute pitch codes -> the LM's classes: unvoiced codes stay (0 .. n_unvoiced-1); a voiced code becomes
    n_unvoiced + rel_bins + (code - ref), clipped to +-rel_bins around the neutral reference ``ref``."""
    rel = n_unvoiced + rel_bins + (codes - ref).clamp(-rel_bins, rel_bins)
    return torch.where(codes < n_unvoiced, codes, rel)


def pitch_to_absolute(classes: torch.Tensor, ref: torch.Tensor, n_unvoiced: int, rel_bins: int, n_voiced: int
                      ) -> torch.Tensor:
    """Inverse of :func:`pitch_to_relative` (clipped to the codec's voiced range)."""
    ab = (ref + classes - n_unvoiced - rel_bins).clamp(n_unvoiced, n_unvoiced + n_voiced - 1)
    return torch.where(classes < n_unvoiced, classes, ab)


def pos_features(elapsed: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """[...] frames so far and Kokoro's predicted frames -> [..., 3] (log elapsed, elapsed / predicted, log predicted)."""
    return torch.stack([torch.log1p(elapsed) / 3, elapsed / predicted.clamp(min=0.5) / 2, torch.log1p(predicted) / 3], -1)


# ---------------------------------------------------------------------- model
def _sinusoid(n: int, d: int, offset: int = 0) -> torch.Tensor:
    """Sinusoidal positions ``offset .. offset+n-1`` -> [n, d] (rows of a table built once per width and grown
    in doubling steps: the sampling loop asks for one row per frame)."""
    pe = _PE.get(d)
    if pe is None or pe.shape[0] < offset + n:
        size = max(512, 2 * (offset + n))
        with torch.inference_mode(False):     # a plain tensor even when first built while sampling
            pos = torch.arange(size, dtype=torch.float32)[:, None]
            ang = pos / torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float32)[None] / d)
            pe = torch.zeros(size, d)
            pe[:, 0::2] = torch.sin(ang)
            pe[:, 1::2] = torch.cos(ang[:, : d // 2])
        _PE[d] = pe
    return pe[offset: offset + n]


_PE: dict[int, torch.Tensor] = {}


class Block(nn.Module):
    """Pre-norm transformer block with an optional causal KV cache."""

    def __init__(self, d: int, h: int, ff: int, dropout: float):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))
        self.drop = nn.Dropout(dropout)
        self.p = dropout

    def forward(self, x: torch.Tensor, causal: bool, key_pad: torch.Tensor | None = None,
                cache: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x [B, S, d] -> (x [B, S, d], (keys, values) [B, h, S_total, d/h])."""
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, s, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        if cache is not None:
            k = torch.cat([cache[0], k], 2)
            v = torch.cat([cache[1], v], 2)
        mask = None if key_pad is None else (~key_pad)[:, None, None, :]
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and cache is None and s > 1,
                                           dropout_p=self.p if self.training else 0.0)
        if not self.training:                 # the sampling loop calls this per frame: no identity dropouts
            x = x + self.proj(a.transpose(1, 2).reshape(b, s, d))
            return x + self.mlp(self.ln2(x)), (k, v)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, s, d)))
        return x + self.drop(self.mlp(self.ln2(x))), (k, v)


class ProsodyLM(nn.Module):
    """Phone encoder + causal trunk + chained sub-token heads (module docstring)."""

    def __init__(self, config: ProsodyLMConfig):
        super().__init__()
        self.config = c = config
        self._codec = CodecConfig(**c.codec)                  # the bins the pitch classes map to
        d = c.d_model
        self.tok_emb = nn.Embedding(VOCAB + 2, d)             # + BOS and EOS markers (Kokoro uses id 0 for both)
        self.front_proj = nn.Linear(c.front_dim + 1, d)
        self.style_proj = nn.Linear(256, d)
        self.emotion = EmotionEncoder(d, 128)
        self.enc = nn.ModuleList([Block(d, c.n_heads, c.ff_mult * d, c.dropout) for _ in range(c.enc_layers)])
        self.enc_ln = nn.LayerNorm(d)
        self.next_proj = nn.Linear(d, d)
        self.pos_proj = nn.Linear(3, d)
        self.bos = nn.Parameter(torch.zeros(d))
        sizes = c.sub_sizes
        self.sub_emb = nn.ModuleList([nn.Embedding(n, d) for n in sizes])
        self.trunk = nn.ModuleList([Block(d, c.n_heads, c.ff_mult * d, c.dropout) for _ in range(c.layers)])
        self.trunk_ln = nn.LayerNorm(d)
        self.cur_proj = nn.Linear(d, d)
        self.cur_pos = nn.Linear(3, d)
        self.heads = nn.ModuleList([nn.Sequential(nn.LayerNorm(d), nn.Linear(d, n)) for n in sizes])
        if c.neutral_ref:                                     # the neutral reading: previous step's, current step's
            self.neu_in = nn.Linear(N_NEUTRAL_FEATS, d)
            self.neu_cur = nn.Linear(N_NEUTRAL_FEATS, d)
        nn.init.normal_(self.bos, std=0.02)

    # -------------------------------------------------------------- pieces
    def global_cond(self, style: torch.Tensor, emotion: torch.Tensor | None, drop: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """style [B, 256] + emotion features [B, 12] (None = null) -> [B, d]."""
        return self.style_proj(style) + self.emotion(emotion, drop_mask=drop, batch_size=style.shape[0])

    def encode_tokens(self, ids: torch.Tensor, front: torch.Tensor, kokoro_dur: torch.Tensor, g: torch.Tensor,
                      pad: torch.Tensor | None = None) -> torch.Tensor:
        """ids [B, n] (BOS/EOS positions included, any value there), front [B, n, 512], kokoro_dur [B, n],
        g [B, d], pad [B, n] True = padding -> H [B, n, d]."""
        b, n = ids.shape
        lens = (~pad).sum(1) if pad is not None else torch.full((b,), n)
        tok = ids.long().clamp(0, VOCAB - 1)
        tok[:, 0] = VOCAB
        tok[torch.arange(b), lens - 1] = VOCAB + 1
        x = self.tok_emb(tok) + self.front_proj(torch.cat([front, torch.log1p(kokoro_dur)[..., None] / 3], -1))
        x = x + g[:, None] + _sinusoid(n, self.config.d_model)[None]
        for blk in self.enc:
            x, _ = blk(x, causal=False, key_pad=pad)
        return self.enc_ln(x)

    def _to_rel(self, codes: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return pitch_to_relative(codes, ref, self._codec.n_unvoiced, self.config.rel_bins)

    def _to_abs(self, classes: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return pitch_to_absolute(classes, ref, self._codec.n_unvoiced, self.config.rel_bins, self._codec.n_voiced)

    def _gather(self, h: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return torch.gather(h, 1, idx[..., None].expand(*idx.shape, h.shape[-1]))

    def trunk_input(self, H: torch.Tensor, g: torch.Tensor, prev: torch.Tensor | None, idx: torch.Tensor,
                    pos: torch.Tensor, n_tokens: torch.Tensor, offset: int = 0, neu: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """Input of steps whose previous step spoke token ``idx`` [B, S] with position ``pos`` [B, S, 3] and
        sub-tokens ``prev`` [B, S, 6] (and, with ``neutral_ref``, looked up the neutral features ``neu``
        [B, S, 6]) -> [B, S, d]. Step 0 (``offset`` 0) has no previous step: it gets the learned BOS vector
        instead (``prev`` None, or its first row is ignored)."""
        b, s = idx.shape
        nxt = torch.minimum(idx + 1, (n_tokens - 1)[:, None])
        x = self._gather(H, idx) + self.next_proj(self._gather(H, nxt)) + self.pos_proj(pos) + g[:, None]
        if prev is None:
            emb = self.bos.expand(b, s, -1)
        else:
            emb = sum(self.sub_emb[j](prev[..., j]) for j in range(N_SUB))
            if offset == 0:
                first = (torch.arange(s) == 0)[None, :, None]
                emb = torch.where(first, self.bos.expand_as(emb), emb)
        if neu is not None:
            x = x + self.neu_in(neu)
        return x + emb + _sinusoid(s, self.config.d_model, offset)[None]

    def run_trunk(self, x: torch.Tensor, caches: list | None) -> tuple[torch.Tensor, list]:
        """x [B, S, d] -> (h [B, S, d], KV caches). Causal: padding at the end of a row is never attended to
        by that row's real steps, so no padding mask is needed."""
        new = []
        for i, blk in enumerate(self.trunk):
            x, c = blk(x, causal=True, cache=None if caches is None else caches[i])
            new.append(c)
        return self.trunk_ln(x), new

    # -------------------------------------------------------------- training
    def forward(self, ids: torch.Tensor, front: torch.Tensor, kokoro_dur: torch.Tensor, pad: torch.Tensor,
                style: torch.Tensor, emotion: torch.Tensor, steps: torch.Tensor, n_steps: torch.Tensor,
                drop: torch.Tensor | None = None, first_gain_weight: float = 0.0,
                n_ref: torch.Tensor | None = None, n_feat: torch.Tensor | None = None,
                n_start: torch.Tensor | None = None, n_frames: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Teacher-forced cross-entropy of every sub-token.

        Args:
            ids [B, n], front [B, n, 512], kokoro_dur [B, n], pad [B, n] (True = padding token);
            style [B, 256]; emotion [B, 12]; steps [B, T, 6] step tokens (:func:`codes_to_steps`, any value past
            ``n_steps`` [B]); drop [B] bool: rows trained on the null emotion (CFG);
            first_gain_weight: extra weight on the gain of step 0. The level is constant within an utterance, so
            teacher forcing lets every later step copy it and only step 0 (1 frame in ~130) learns it from the
            emotion: without this the sampled level barely follows the emotion.
            n_ref, n_feat, n_start, n_frames: with ``neutral_ref``, the batch's :func:`neutral_reference`
            tensors, padded ([B, Tn, 2], [B, Tn, 6], [B, n], [B, n]).
        Returns:
            {"loss": mean CE over the six heads, "ce": [6] per head}.
        """
        b, t, _ = steps.shape
        n_tokens = (~pad).sum(1)
        valid = torch.arange(t)[None] < n_steps[:, None]                          # [B, T]
        steps = steps.long().masked_fill(~valid[..., None], 0)
        g = self.global_cond(style, emotion, drop)
        H = self.encode_tokens(ids, front, kokoro_dur, g, pad)
        idx, pos, elapsed = step_context(steps[..., 0], kokoro_dur, n_tokens)
        neu = neu_prev = None
        if self.config.neutral_ref:
            if n_ref is None:
                raise ProsodyLMError("this LM needs the neutral reference (n_ref, n_feat, n_start, n_frames)")
            ref, neu = reference_at({"ref": n_ref, "feat": n_feat, "start": n_start, "frames": n_frames},
                                    idx, elapsed)
            steps = steps.clone()
            for k in (1, 2):
                steps[..., k] = self._to_rel(steps[..., k], ref[..., k - 1])
            neu_prev = torch.cat([torch.zeros_like(neu[:, :1]), neu[:, :-1]], 1)
        # previous step's context: shift by one (step 0 sees token 0 at position 0)
        idx_prev = torch.cat([torch.zeros_like(idx[:, :1]), idx[:, :-1]], 1)
        pos_prev = torch.cat([pos_features(torch.zeros(b, 1), kokoro_dur[:, :1]), pos[:, :-1]], 1)
        prev = torch.cat([torch.zeros_like(steps[:, :1]), steps[:, :-1]], 1)
        x = self.trunk_input(H, g, prev, idx_prev, pos_prev, n_tokens, neu=neu_prev)
        h, _ = self.run_trunk(x, None)
        logits = self.head_logits(h, steps, H, idx, pos, neu)
        ces = []
        for j, lg in enumerate(logits):
            tgt = steps[..., j].masked_fill(~valid, -100)
            if j == 0:
                tgt = tgt.clone()
                tgt[:, 0] = -100                                                  # step 0 always starts token 0
            ces.append(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), ignore_index=-100))
        ce = torch.stack(ces)
        loss = ce.mean()
        if first_gain_weight > 0:
            loss = loss + first_gain_weight * F.cross_entropy(logits[5][:, 0], steps[:, 0, 5])
        return {"loss": loss, "ce": ce.detach()}

    def head_logits(self, h: torch.Tensor, steps: torch.Tensor, H: torch.Tensor, idx: torch.Tensor,
                    pos: torch.Tensor, neu: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Teacher-forced logits of the six heads: h [B, T, d] trunk states, steps [B, T, 6] -> list of [B, T, C_j]."""
        out = [self.heads[0](h)]
        z = h + self.cur_proj(self._gather(H, idx)) + self.cur_pos(pos) + self.sub_emb[0](steps[..., 0])
        if neu is not None:
            z = z + self.neu_cur(neu)
        for j in range(1, N_SUB):
            out.append(self.heads[j](z))
            z = z + self.sub_emb[j](steps[..., j])
        return out

    # -------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(
        self,
        ids: np.ndarray | torch.Tensor,
        front: np.ndarray | torch.Tensor,
        kokoro_dur: np.ndarray | torch.Tensor,
        style: np.ndarray | torch.Tensor,
        emotion,
        generator: torch.Generator | None = None,
        guidance_scale: float = 1.0,
        temperature: float = 0.8,
        top_k: int = 20,
        pace: float = 1.0,
        contour_temperature: float | None = None,
        durations: str = "sample",
        neutral: tuple[np.ndarray, np.ndarray] | None = None,
        guidance_space: str = "logits",
        cfg_scale: float = 1.0,
    ) -> torch.Tensor:
        """Sample codes int64 [1, 4, 2T] for one utterance (on one torch thread: see :meth:`_generate`)."""
        if durations not in DURATION_MODES:
            raise ProsodyLMError(f"durations must be one of {DURATION_MODES}, not {durations!r}")
        if guidance_space not in GUIDANCE_SPACES:
            raise ProsodyLMError(f"guidance_space must be one of {GUIDANCE_SPACES}, not {guidance_space!r}")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():      # no autograd bookkeeping in the per-frame loop
                codes = self._generate(ids, front, kokoro_dur, style, emotion, generator, guidance_scale, temperature,
                                      top_k, pace, contour_temperature, durations, neutral, guidance_space,
                                      cfg_scale)
        finally:
            torch.set_num_threads(threads)
        return codes.clone()                  # a plain tensor the caller may edit in place

    def _generate(self, ids, front, kokoro_dur, style, emotion, generator, guidance_scale, temperature, top_k,
                  pace, contour_temperature, durations="sample", neutral=None, guidance_space="logits",
                  cfg_scale=1.0) -> torch.Tensor:
        """The sampling loop. Its matrices are tiny (batch <= 4, d 128), so it runs on one thread: on 2 shared
        cores a second thread made a 10-word sentence 27x slower (19 s vs 0.7 s for 142 steps, load average 5).

        Args:
            ids: [n-2] Kokoro token ids (no BOS/EOS). front: [n, >=512] Kokoro front states ``d``.
            kokoro_dur: [n] Kokoro's predicted frames per token. style: [256] the voice's style vector.
            emotion: an ``Emotion`` / spec, or a [12] feature tensor.
            generator: the only randomness. temperature / top_k: sampling of the pitch, energy and gain sub-tokens
                (0 = greedy); boundaries are always drawn at temperature 1 (their rate is the duration).
            guidance_scale, guidance_space: the strength knob.
                ``"logits"``: classic classifier-free guidance, ``null + scale * (cond - null)`` on every
                sub-token's logits (1 = conditional, 0 = unconditional, > 1 stronger), one token stream fed back
                to both branches.
                ``"tracks"``: two token streams are spoken side by side, the requested emotion's and the neutral
                emotion's, each fed its own previous tokens (so each stays the model's own plausible reading), each
                with classifier-free guidance ``cfg_scale`` against the null condition. Every frame's pitch,
                energy and level bin is ``neutral + scale * (emotion - neutral)`` of the two streams' bins
                (:func:`mix_bins`): 0 = the neutral reading, 1 = the emotion's, > 1 its departure from neutral
                exaggerated. The bins are ordered values, so this is guidance on the predicted value (as diffusion
                models guide their predicted noise) and the departure grows linearly with the scale. The
                boundaries (timing) are shared, their logits guided from the neutral stream's to the emotion's at
                ``min(scale, 1)``: extrapolated hazards lengthened val takes by up to 4 s at scale 3. With scale 1
                only the emotion's stream is run: the same take as ``"logits"`` at ``cfg_scale``.
            cfg_scale: ``"tracks"`` only: the streams' own guidance against the null condition (1 = none).
            contour_temperature: temperature of the pitch and energy sub-tokens (None = ``temperature``): each
                frame's bin is drawn anew, so a high value roughens the contour frame to frame.
            pace: > 1 slower: Kokoro's predicted durations the LM sees are scaled by it.
            durations: ``"sample"``: each frame's boundary is drawn from the hazard; ``"median"``: a token ends at
                the first frame where the probability that it has ended (1 - the product of (1 - hazard) over its
                frames) reaches 1/2, the median of the duration distribution the LM predicts (no randomness in the
                timing: the low-temperature analogue for a hazard, where a temperature would bias every length).
            neutral: (F0 [2T'] Hz, N [2T']) of Kokoro's own neutral reading at ``neutral_frames(kokoro_dur)``
                (unscaled by ``pace``); required by an LM trained with ``neutral_ref``, ignored otherwise.
        """
        c = self.config
        self.eval()
        ids_t = torch.as_tensor(np.asarray(ids), dtype=torch.long).reshape(1, -1)
        n = ids_t.shape[1] + 2
        if ids_t.shape[1] < 1:
            raise ProsodyLMError("Nothing to say: no phonemes.")
        ref_tab = None
        if c.neutral_ref:
            if neutral is None:
                raise ProsodyLMError("this LM needs Kokoro's neutral F0 and N (generate(..., neutral=(f0, n)))")
            ref_tab = neutral_reference(neutral_frames(np.asarray(kokoro_dur).reshape(-1)), neutral[0], neutral[1],
                                        c.codec)
            ref_tab = {k: v[None] for k, v in ref_tab.items()}
        fr = torch.as_tensor(np.asarray(front, np.float32))[:, : c.front_dim].reshape(1, n, c.front_dim)
        kd = torch.as_tensor(np.asarray(kokoro_dur, np.float32)).reshape(1, n) * float(pace)
        st = torch.as_tensor(np.asarray(style, np.float32)).reshape(1, 256)
        feats = emotion if isinstance(emotion, torch.Tensor) else emotion_features([emotion])
        feats = feats.reshape(1, -1).float()
        full_ids = torch.cat([torch.zeros(1, 1, dtype=torch.long), ids_t, torch.zeros(1, 1, dtype=torch.long)], 1)

        # streams: (condition, its guidance against the null condition); rows: each stream's condition, then its
        # null row when guided. Two streams = "tracks" (the emotion's, the neutral one's), mixed by the scale.
        if guidance_space == "tracks":
            conds = [feats] + ([emotion_features([Emotion.neutral()]).float()] if guidance_scale != 1.0 else [])
            cfg = float(cfg_scale)
        else:
            conds, cfg = [feats], float(guidance_scale)
        rows: list[torch.Tensor | None] = []
        stream_rows: list[tuple[int, int | None]] = []
        for f in conds:
            a, u = len(rows), (len(rows) + 1 if cfg != 1.0 else None)
            rows += [f] if u is None else [f, None]
            stream_rows.append((a, u))
        g = torch.cat([self.global_cond(st, f) for f in rows], 0)
        nb = g.shape[0]
        row_stream = torch.tensor([k for k, (_, u) in enumerate(stream_rows) for _ in range(1 if u is None else 2)])
        mixed = len(stream_rows) == 2
        b_scale = min(guidance_scale, 1.0)
        H = self.encode_tokens(full_ids.expand(nb, n), fr.expand(nb, -1, -1), kd.expand(nb, -1), g)
        n_tok = torch.full((nb,), n)
        limit = max(n, min(c.max_frames, int(c.guard_factor * float(kd.sum())) + c.guard_frames))
        n_unvoiced = self._codec.n_unvoiced
        pitch_excess = PITCH_EXCESS_ST / self._codec.f0_step_st
        sizes = c.sub_sizes                      # a property: read once, not per frame
        # the boundary head is a per-frame hazard: any temperature but 1 biases every duration (< 1 lengthens)
        temps = [1.0] + [temperature if contour_temperature is None else contour_temperature] * 4 + [temperature]

        def stream_logits(lg: torch.Tensor) -> list[torch.Tensor]:
            """Logits [nb, C] of one sub-token -> each stream's guided logits [C]."""
            return [lg[a] if u is None else guided(lg[a], lg[u], cfg) for a, u in stream_rows]

        def boundary_logits(lb: torch.Tensor) -> torch.Tensor:
            ls = stream_logits(lb)
            return guided(ls[0], ls[1], b_scale) if mixed else ls[0]

        out: list[list[int]] = []
        caches = None
        idx, elapsed = 0, 0                      # token being spoken, its frames so far
        survive = 1.0                            # "median": P(the token has not ended yet)
        prev: torch.Tensor | None = None
        neu_prev = torch.zeros(nb, 1, N_NEUTRAL_FEATS) if ref_tab is not None else None
        for t in range(limit):
            pos = pos_features(torch.tensor([[float(elapsed)]]), kd[:, idx: idx + 1]).expand(nb, 1, 3)
            x = self.trunk_input(H, g, prev, torch.full((nb, 1), idx), pos, n_tok, offset=t, neu=neu_prev)
            h, caches = self.run_trunk(x, caches)
            h = h[:, -1]                                                         # [nb, d]
            # boundary: forced at step 0, when the token has lasted max_token_frames, or when the frames left
            # would not give each remaining token one frame (the guard); never before step 0's token has a frame
            left = n - 1 - idx
            if t == 0 or elapsed >= c.max_token_frames or limit - t <= left:
                b = 1
            else:
                lg = boundary_logits(self.heads[0](h))
                if durations == "median":
                    survive *= 1.0 - float(torch.softmax(lg.float(), -1)[1])
                    b = int(survive <= 0.5)
                else:
                    b = sample_token(lg, generator, temps[0], top_k)
            if b == 1:
                survive = 1.0
            if t > 0 and b == 1:
                if idx == n - 1:
                    break                                                        # boundary after EOS: the end
                idx, elapsed = idx + 1, 0
            elapsed += 1
            cur = torch.full((nb, 1), idx)
            pos_now = pos_features(torch.tensor([[float(elapsed)]]), kd[:, idx: idx + 1]).expand(nb, 1, 3)
            z = h + (self.cur_proj(self._gather(H, cur)) + self.cur_pos(pos_now))[:, 0]
            z = z + self.sub_emb[0].weight[b]
            ref = None
            if ref_tab is not None:
                ref, neu = reference_at(ref_tab, cur[:1], torch.tensor([[elapsed]]))   # [1, 1, 2], [1, 1, 6]
                z = z + self.neu_cur(neu[:, 0])
                neu_prev = neu.expand(nb, 1, N_NEUTRAL_FEATS)
            own = [[b] for _ in stream_rows]                                     # each stream's own tokens
            toks = [b]
            for j in range(1, N_SUB):
                picks = [sample_token(lg, generator, temps[j], top_k) for lg in stream_logits(self.heads[j](z))]
                for k, p in enumerate(picks):
                    own[k].append(p)
                toks.append(mix_bins(picks[0], picks[1], guidance_scale, n_unvoiced if j in (1, 2) else 0,
                                     sizes[j], pitch_excess if j in (1, 2) else None) if mixed else picks[0])
                z = z + self.sub_emb[j].weight[torch.tensor(picks)[row_stream]]
            prev = torch.tensor(own)[row_stream].view(nb, 1, N_SUB)
            if ref is not None:                                                  # relative pitch -> codec codes
                for k in (1, 2):
                    toks[k] = int(self._to_abs(torch.tensor(toks[k]), ref[0, 0, k - 1]))
            out.append(toks)
        steps = torch.tensor(out, dtype=torch.long)[None]
        codes = steps_to_codes(steps)
        if int(codes[0, 0].sum()) != n:
            raise ProsodyLMError("internal: the sampled boundaries do not cover every token")  # guarded above
        return codes

    # -------------------------------------------------------------- io
    def save_pretrained(self, path: str | Path) -> None:
        """``config.json`` + ``model.safetensors`` (format version checked on load)."""
        from safetensors.torch import save_file

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        (p / "config.json").write_text(json.dumps(asdict(self.config), indent=1))
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(p / "model.safetensors"))

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> ProsodyLM:
        """Load a ``save_pretrained`` folder (default: the shipped ``pretrained/prosody-lm``)."""
        from safetensors.torch import load_file

        p = Path(path) if path is not None else PRETRAINED_DIR
        if not (p / "config.json").is_file() or not (p / "model.safetensors").is_file():
            raise ProsodyLMError(f"No prosody LM in {p} (train one with `emotive train speech-lm`).")
        cfg = json.loads((p / "config.json").read_text())
        if cfg.get("version") != LM_FORMAT_VERSION:
            raise ProsodyLMError(f"{p} holds prosody-LM format {cfg.get('version')}, this code reads "
                                 f"{LM_FORMAT_VERSION}; retrain with `emotive train speech-lm`.")
        model = cls(ProsodyLMConfig(**cfg))
        model.load_state_dict(load_file(str(p / "model.safetensors")))
        return model.eval()


PITCH_EXCESS_ST = 2.0
"""``"tracks"`` guidance above scale 1: how far (semitones) the pitch may go beyond the emotion's own take, soft-
limited (:func:`mix_bins`). Loudness and energy keep growing linearly. Measured (val sentences, session 14):
without it, scale 3 drove pitch accents an octave above the neutral reading, where Kokoro's decoder stops
sounding voiced (WORLD found 6-55 voiced frames of ~220 in surprised takes, and the measured deviation then
fell); with 2 semitones the takes stay voiced and the knob is monotonic in 31 of 32 val cases (30 without)."""

GUIDANCE_SPACES = ("logits", "tracks")
"""How :meth:`ProsodyLM.generate`'s ``guidance_scale`` acts (its ``guidance_space``)."""

DURATION_MODES = ("sample", "median")
"""How :meth:`ProsodyLM.generate` turns the boundary hazard into durations (see its ``durations`` argument)."""


def mix_bins(cond: int, ref: int, scale: float, lo: int, n: int, excess_limit: float | None = None) -> int:
    """One frame of ``"tracks"`` guidance: ``ref + scale * (cond - ref)`` in bins, rounded and kept in the ordered
    bins ``lo .. n-1``. Classes below ``lo`` are unvoiced pitch codes (no value): where either stream is unvoiced,
    the frame is the conditional stream's at scale >= 0.5 and the reference's below (so scale 0 is exactly the
    reference, and voicing never takes a value from a stream that has none).

    ``excess_limit`` (bins): above scale 1, the part of the departure beyond the conditional stream's own,
    ``(scale - 1) * (cond - ref)``, is soft-limited to this many bins (``limit * tanh(excess / limit)``): still
    growing with the scale, never past the limit. Scales up to 1 are unchanged."""
    if cond < lo or ref < lo:
        return cond if scale >= 0.5 else ref
    if excess_limit and scale > 1.0:
        v = cond + excess_limit * math.tanh((scale - 1.0) * (cond - ref) / excess_limit)
    else:
        v = ref + scale * (cond - ref)
    return int(min(max(round(v), lo), n - 1))


def sample_token(logits: torch.Tensor, generator: torch.Generator | None, temperature: float, top_k: int) -> int:
    """logits [C] -> one class: greedy at temperature 0, else top-k sampling from ``generator``."""
    if temperature <= 0:
        return int(torch.argmax(logits))
    lg = logits.float() / temperature
    if 0 < top_k < lg.shape[-1]:
        kth = torch.topk(lg, top_k).values[-1]
        lg = lg.masked_fill(lg < kth, -math.inf)
    return int(torch.multinomial(torch.softmax(lg, -1), 1, generator=generator))

