"""Codec language model: phonemes + emotion + voice -> codec tokens [B, K, T].

Layout (chosen for what two CPU cores can train in an evening):

* **One autoregressive transformer over a MusicGen-style delay pattern**
  (Copet et al. 2023): codebook k of frame t is predicted at step t + k, so a
  single model, a single KV cache and T + K steps generate all K codebooks,
  coarse before fine within a frame. VALL-E's AR + NAR split (Wang et al. 2023)
  needs two models and K - 1 extra full passes; for K = 8 at 50 Hz the delay
  pattern costs only 7 extra steps per utterance.
* **Explicit alignment**: a small bidirectional phoneme encoder predicts each
  phone's duration in frames (trained on the corpus phone timings, FastSpeech's
  length regulator, Ren et al. 2019) and its outputs, repeated by duration, are
  added to the decoder input of the frame they cover. Prefix-only conditioning
  (VALL-E) must learn the monotonic text-audio alignment by itself, which takes
  far more steps than this budget allows; with the alignment given, the LM only
  learns the acoustics. Duration is also where tempo emotion lives (sad = slow).
* **Conditioning**: global vector = speaker embedding (6 corpus voices) +
  ``EmotionEncoder`` output, added to every encoder and decoder position.
  Classifier-free guidance on emotion (Ho & Salimans 2022): training replaces the
  emotion by the learned null embedding with probability ``cond_drop``
  (``ConditionDropout``); sampling mixes ``uncond + scale * (cond - uncond)``.
* **Stopping**: codebook 0 has an end-of-speech token; a hard guard forces it
  ``guard_frames`` after the predicted duration, and never later than
  ``max_frames``, so generation always stops.

Special ids per codebook: 0..N-1 codes, N = EOS, N+1 = PAD (empty delay slot), N+2 = BOS.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from emotive.conditioning import EmotiveError
from emotive.conditioning.encoder import EmotionEncoder, emotion_features, guided

PRETRAINED_DIR = Path(__file__).parent / "pretrained" / "lm"
LM_FORMAT_VERSION = 2

PHONES: tuple[str, ...] = ("<pad>", "pau", "aa", "ae", "ah", "ao", "aw", "ay", "b", "ch", "d", "dh", "eh", "er", "ey",
                           "f", "g", "hh", "ih", "iy", "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r", "s", "sh",
                           "t", "th", "uh", "uw", "v", "w", "y", "z", "zh")
"""Phone vocabulary: pad, pause, and the 39 ARPAbet phonemes (lowercase, no stress)."""
PHONE_ID = {p: i for i, p in enumerate(PHONES)}
VOICES: tuple[str, ...] = ("joe", "slt", "kal", "ked", "rms", "awb")


class LMError(EmotiveError):
    """Bad LM input (unknown voice, empty phonemes) or a missing LM folder."""


def phone_ids(phones: list[str]) -> list[int]:
    """Phone strings (any case; unknown -> pau) -> ids in ``PHONES``."""
    return [PHONE_ID.get(p.lower(), PHONE_ID["pau"]) for p in phones]


@dataclass
class LMConfig:
    num_codebooks: int = 8        # K, must match the codec
    codebook_size: int = 1024     # N, must match the codec
    frame_rate: float = 50.0      # codec frames per second
    voices: list[str] = field(default_factory=lambda: list(VOICES))
    d_model: int = 192
    n_heads: int = 4
    dec_layers: int = 4
    enc_layers: int = 2
    ff_mult: int = 4
    dropout: float = 0.1
    cond_drop: float = 0.1        # CFG training dropout of the emotion (MusicGen uses 0.1-0.2)
    code_drop: float = 0.0        # training: share of frames whose previous-token input is blanked (see forward)
    max_frames: int = 1500        # hard cap: 30 s at 50 Hz per sentence chunk
    guard_frames: int = 25        # EOS forced this many frames after the predicted length
    version: int = LM_FORMAT_VERSION

    @property
    def eos(self) -> int:
        return self.codebook_size

    @property
    def pad(self) -> int:
        return self.codebook_size + 1

    @property
    def bos(self) -> int:
        return self.codebook_size + 2


def tiny_lm_config(num_codebooks: int = 2, codebook_size: int = 32) -> LMConfig:
    """A few-thousand-parameter LM for tests."""
    return LMConfig(num_codebooks=num_codebooks, codebook_size=codebook_size, d_model=16, n_heads=2, dec_layers=1,
                    enc_layers=1, ff_mult=2, dropout=0.0, max_frames=200, guard_frames=5)


# ---------------------------------------------------------------------- delay pattern
def build_delay_pattern(codes: torch.Tensor, eos: int, pad: int, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Codes [B, K, T] -> delayed [B, K, T + K]: ``delayed[:, k, t + k] = codes[:, k, t]`` for t < length,
    ``delayed[:, k, length + k] = eos``, every other slot ``pad``."""
    b, k, t = codes.shape
    lengths = torch.full((b,), t, dtype=torch.long) if lengths is None else lengths.long()
    out = torch.full((b, k, t + k), pad, dtype=torch.long)
    ar = torch.arange(t)
    for i in range(k):
        valid = ar[None] < lengths[:, None]                       # [B, T]
        seg = torch.where(valid, codes[:, i].long(), torch.full_like(codes[:, i].long(), pad))
        out[:, i, i: i + t] = seg
        out[torch.arange(b), i, lengths + i] = eos
    return out


def revert_delay_pattern(delayed: torch.Tensor, num_codebooks: int) -> torch.Tensor:
    """Delayed [B, K, S] -> codes [B, K, S - K] (inverse of :func:`build_delay_pattern` for full-length rows)."""
    _b, k, s = delayed.shape
    if k != num_codebooks:
        raise ValueError(f"expected {num_codebooks} codebooks, got {k}")
    t = s - k
    return torch.stack([delayed[:, i, i: i + t] for i in range(k)], 1)


# ---------------------------------------------------------------------- model
def _sinusoid(n: int, d: int, offset: int = 0) -> torch.Tensor:
    pos = torch.arange(offset, offset + n, dtype=torch.float32)[:, None]
    i = torch.arange(0, d, 2, dtype=torch.float32)[None]
    ang = pos / torch.pow(10000.0, i / d)
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang[:, : d // 2])
    return pe


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
                cache: tuple[torch.Tensor, torch.Tensor] | None = None):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, s, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        if cache is not None:
            k = torch.cat([cache[0], k], 2)
            v = torch.cat([cache[1], v], 2)
        new_cache = (k, v)
        mask = None
        if key_pad is not None:
            mask = (~key_pad)[:, None, None, :]
        is_causal = causal and cache is None and s > 1
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                           dropout_p=self.p if self.training else 0.0)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, s, d)))
        x = x + self.drop(self.mlp(self.ln2(x)))
        return x, new_cache


class CodecLM(nn.Module):
    """Phoneme encoder + duration head + delay-pattern AR decoder (see module docstring)."""

    def __init__(self, config: LMConfig):
        super().__init__()
        self.config = c = config
        d = c.d_model
        self.phone_emb = nn.Embedding(len(PHONES), d, padding_idx=0)
        self.voice_emb = nn.Embedding(len(c.voices), d)
        self.emotion = EmotionEncoder(d, 128)
        self.enc = nn.ModuleList([Block(d, c.n_heads, c.ff_mult * d, c.dropout) for _ in range(c.enc_layers)])
        self.enc_ln = nn.LayerNorm(d)
        self.dur_head = nn.Linear(d, 1)
        self.end_vec = nn.Parameter(torch.zeros(d))
        self.in_phone = nn.Linear(3, d)   # where a frame lies inside its phone (see ``regulate``)
        self.code_emb = nn.ModuleList([nn.Embedding(c.codebook_size + 3, d) for _ in range(c.num_codebooks)])
        self.dec = nn.ModuleList([Block(d, c.n_heads, c.ff_mult * d, c.dropout) for _ in range(c.dec_layers)])
        self.dec_ln = nn.LayerNorm(d)
        self.heads = nn.ModuleList([nn.Linear(d, c.codebook_size + 1) for _ in range(c.num_codebooks)])
        nn.init.normal_(self.end_vec, std=0.02)

    # -------------------------------------------------------------- pieces
    def voice_ids(self, voices: list[str]) -> torch.Tensor:
        out = []
        for v in voices:
            if v not in self.config.voices:
                raise LMError(f"Unknown voice {v!r}; available: {', '.join(self.config.voices)}.")
            out.append(self.config.voices.index(v))
        return torch.tensor(out, dtype=torch.long)

    def global_cond(self, voice: torch.Tensor, emotion: torch.Tensor | None, drop: torch.Tensor | None = None) -> torch.Tensor:
        """[B] voice ids + [B, 12] emotion features (None = null emotion) -> [B, d]."""
        e = self.emotion(emotion, drop_mask=drop, batch_size=voice.shape[0])
        return self.voice_emb(voice) + e

    def encode_phones(self, phones: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """phones [B, P] (0 = pad), g [B, d] -> (hidden [B, P, d], log(1 + frames) predictions [B, P])."""
        pad = phones == 0
        x = self.phone_emb(phones) + _sinusoid(phones.shape[1], self.config.d_model)[None] + g[:, None]
        for blk in self.enc:
            x, _ = blk(x, causal=False, key_pad=pad)
        x = self.enc_ln(x)
        return x, self.dur_head(x).squeeze(-1)

    def regulate(self, h: torch.Tensor, durs: torch.Tensor, length: int) -> torch.Tensor:
        """Repeat phone states by their durations (frames): [B, P, d] -> [B, length, d]; past the end: ``end_vec``.

        Each frame also gets where it lies inside its phone (fraction elapsed, fraction left, log
        phone length): FastSpeech-style repetition alone leaves the decoder to count frames from
        its own history, which costs many training steps to learn (the position is what moves a
        frame from onset through steady state to the transition into the next phone).
        """
        b, _p, d = h.shape
        out = self.end_vec.expand(b, length, d).clone()
        for i in range(b):
            dd = durs[i].clamp(min=0).long()
            rep = torch.repeat_interleave(h[i], dd, dim=0)[:length]
            n = rep.shape[0]
            if n == 0:
                continue
            lens = torch.repeat_interleave(dd, dd)[:n].float()
            starts = torch.repeat_interleave(torch.cumsum(dd, 0) - dd, dd)[:n]
            pos = torch.arange(n) - starts
            frac = (pos.float() + 0.5) / lens
            feat = torch.stack([frac, 1.0 - frac, torch.log1p(lens) / 4.0], -1)
            out[i, :n] = rep + self.in_phone(feat)
        return out

    def _embed_codes(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [B, K, S] -> summed embeddings [B, S, d]."""
        return sum(self.code_emb[k](tokens[:, k]) for k in range(tokens.shape[1]))

    def decode_step(self, x: torch.Tensor, caches: list | None) -> tuple[torch.Tensor, list]:
        """x [B, S, d] -> logits [B, K, S, N+1], caches."""
        new = []
        for i, blk in enumerate(self.dec):
            x, c = blk(x, causal=True, cache=None if caches is None else caches[i])
            new.append(c)
        x = self.dec_ln(x)
        return torch.stack([hd(x) for hd in self.heads], 1), new

    # -------------------------------------------------------------- training
    def forward(self, phones: torch.Tensor, durs: torch.Tensor, voice: torch.Tensor, emotion: torch.Tensor,
                codes: torch.Tensor, lengths: torch.Tensor, drop: torch.Tensor | None = None,
                history: bool = True) -> dict:
        """Teacher-forced losses.

        Args:
            phones [B, P] phone ids (0 pad); durs [B, P] frames per phone (sum = length);
            voice [B]; emotion [B, 12] features; codes [B, K, T] (pad beyond ``lengths`` [B]);
            drop [B] bool: rows whose emotion is replaced by the null embedding (CFG training).
            history: False blanks every token input (the loss of ``generate(history=False)``).
        Returns:
            {"loss", "ce", "dur", "acc0"}.
        """
        c = self.config
        g = self.global_cond(voice, emotion, drop)
        h, logd = self.encode_phones(phones, g)
        pmask = phones != 0
        dur_loss = F.mse_loss(logd[pmask], torch.log1p(durs[pmask].float()))
        delayed = build_delay_pattern(codes, c.eos, c.pad, lengths)                 # [B, K, T+K]
        s = delayed.shape[-1]
        inp = torch.cat([torch.full_like(delayed[:, :, :1], c.bos), delayed[:, :, :-1]], 2)
        emb = self._embed_codes(inp)
        if not history:
            emb = torch.zeros_like(emb)
        elif self.training and c.code_drop > 0:
            # Blank the token input of a random share of frames: teacher forcing otherwise lets the
            # decoder lean on the previous frame's tokens and ignore the phones, and at sampling time
            # its own errors then carry it away from the text (exposure bias, Bengio et al. 2015).
            keep = (torch.rand(emb.shape[:2]) >= c.code_drop).to(emb.dtype)[..., None]
            emb = emb * keep
        x = emb + self.regulate(h, durs, s) + g[:, None] + _sinusoid(s, c.d_model)[None]
        logits, _ = self.decode_step(x, None)                                       # [B, K, S, N+1]
        tgt = delayed.masked_fill(delayed == c.pad, -100)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
        with torch.no_grad():
            m = tgt[:, 0] >= 0
            acc0 = (logits[:, 0].argmax(-1)[m] == tgt[:, 0][m]).float().mean()
        return {"loss": ce + dur_loss, "ce": ce, "dur": dur_loss, "acc0": acc0}

    # -------------------------------------------------------------- generation
    def predict_durations(self, phones: torch.Tensor, voice: torch.Tensor, emotion: torch.Tensor,
                          pace: float = 1.0) -> torch.Tensor:
        g = self.global_cond(voice, emotion)
        _, logd = self.encode_phones(phones, g)
        d = torch.clamp(torch.round(torch.expm1(logd) * pace), min=1)
        return d.masked_fill(phones == 0, 0).long()

    @torch.no_grad()
    def generate(
        self,
        phones: list[int],
        voice: str,
        emotion,
        generator: torch.Generator | None = None,
        guidance_scale: float = 1.0,
        temperature: float = 0.8,
        top_k: int = 50,
        top_p: float = 0.95,
        pace: float = 1.0,
        durations: torch.Tensor | None = None,
        history: bool = True,
        return_probs: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Sample codes [1, K, T] for one phone sequence.

        Args:
            phones: phone ids (``phone_ids``), pauses included.
            voice: one of ``config.voices``.
            emotion: an ``Emotion`` (or spec) or a [12] feature tensor.
            guidance_scale: CFG on emotion; 1 = conditional only, 0 = unconditional (null emotion), >1 stronger.
            temperature / top_k / top_p: sampling (temperature 0 = greedy).
            pace: multiplies predicted durations (>1 slower).
            durations: optional [P] frames per phone (skips the duration predictor).
            history: feed the sampled tokens back (autoregressive). False blanks the token input, as
                ``code_drop`` training does for some frames, so each frame follows the phones and
                emotion only (a model trained with ``code_drop`` > 0 supports both).
            return_probs: also return the model's distribution over each stream's tokens, float32
                [1, K, T, codebook_size] (after guidance, at temperature 1, end/pad excluded), for decoders
                that use expected values instead of the sampled tokens.
        """
        if not phones:
            raise LMError("Nothing to say: the phone sequence is empty.")
        self.eval()
        c = self.config
        ph = torch.tensor([phones], dtype=torch.long)
        v = self.voice_ids([voice])
        feats = emotion if isinstance(emotion, torch.Tensor) else emotion_features([emotion])
        feats = feats.reshape(1, -1).float()
        durs = self.predict_durations(ph, v, feats, pace) if durations is None else durations.reshape(1, -1).long()
        n_frames = int(durs.sum())
        limit = min(c.max_frames, n_frames + c.guard_frames)
        use_cfg = guidance_scale != 1.0
        g_c = self.global_cond(v, feats)
        h_c, _ = self.encode_phones(ph, g_c)
        steps_max = limit + c.num_codebooks
        cond_c = self.regulate(h_c, durs, steps_max) + g_c[:, None]
        if use_cfg:
            g_u = self.global_cond(v, None)
            h_u, _ = self.encode_phones(ph, g_u)
            cond = torch.cat([cond_c, self.regulate(h_u, durs, steps_max) + g_u[:, None]], 0)
        else:
            cond = cond_c
        nb = cond.shape[0]
        k_cb = c.num_codebooks
        out = torch.full((1, k_cb, steps_max), c.pad, dtype=torch.long)
        prev = torch.full((nb, k_cb, 1), c.bos, dtype=torch.long)
        caches = None
        eos_at: int | None = None
        s = 0
        slot_probs: list[torch.Tensor] = []
        while True:
            x = cond[:, s: s + 1] + _sinusoid(1, c.d_model, s)[None]
            if history:
                x = x + self._embed_codes(prev)
            logits, caches = self.decode_step(x, caches)
            logits = logits[:, :, -1]                                            # [nb, K, N+1]
            if use_cfg:
                lg = guided(logits[:1], logits[1:], guidance_scale)
            else:
                lg = logits
            lg = lg[0].clone()                                                   # [K, N+1]
            lg[1:, c.eos] = -float("inf")                                        # only codebook 0 may end
            if s == 0:
                lg[0, c.eos] = -float("inf")                                     # never end before frame 0
            sampled = sample_token(lg, generator, temperature, top_k, top_p)     # [K]
            if return_probs:
                slot_probs.append(torch.softmax(lg[:, : c.codebook_size].float(), -1))
            tok = torch.full((k_cb,), c.pad, dtype=torch.long)
            for k in range(k_cb):
                t = s - k                                                        # frame index of this slot
                if t < 0:
                    continue
                if eos_at is not None and t >= eos_at:
                    tok[k] = c.eos if t == eos_at else c.pad
                elif k == 0 and t >= limit:
                    tok[0] = c.eos                                               # hard duration guard
                    eos_at = t
                else:
                    tok[k] = sampled[k]
                    if k == 0 and int(tok[0]) == c.eos:
                        eos_at = t
            out[0, :, s] = tok
            s += 1
            if eos_at is not None and s >= eos_at + k_cb:
                break
            prev = tok.view(1, k_cb, 1).expand(nb, k_cb, 1)
        delayed = out[:, :, : eos_at + k_cb]
        codes = revert_delay_pattern(delayed, k_cb).clamp(0, c.codebook_size - 1)
        if not return_probs:
            return codes
        sp = torch.stack(slot_probs)                                              # [slots, K, N]
        t_len = codes.shape[-1]
        probs = torch.stack([sp[k: k + t_len, k] for k in range(k_cb)])[None]   # slot s of stream k = frame s - k
        return codes, probs

    # -------------------------------------------------------------- io
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def save_pretrained(self, path: str | Path, half: bool = True) -> None:
        """config.json + model.safetensors (float16 storage by default; loaded back as float32)."""
        from safetensors.torch import save_file

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        sd = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in self.state_dict().items()}
        save_file(sd, str(p / "model.safetensors"))
        (p / "config.json").write_text(json.dumps(asdict(self.config), indent=1))

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> CodecLM:
        from safetensors.torch import load_file

        p = Path(path) if path is not None else PRETRAINED_DIR
        if not (p / "config.json").is_file() or not (p / "model.safetensors").is_file():
            raise LMError(f"No codec LM at {p} (expected config.json + model.safetensors; train one with "
                          "`emotive train speech-lm`).")
        cfg = json.loads((p / "config.json").read_text())
        if cfg.get("version") != LM_FORMAT_VERSION:
            raise LMError(f"LM at {p} has format version {cfg.get('version')}; this emotive reads {LM_FORMAT_VERSION}.")
        model = cls(LMConfig(**cfg))
        sd = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(p / "model.safetensors")).items()}
        model.load_state_dict(sd)
        return model.eval()


def sample_token(logits: torch.Tensor, generator: torch.Generator | None, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Ids from logits [..., V] with temperature, top-k and nucleus (top-p) filtering; temperature 0 = argmax.

    Returns a tensor of shape ``logits.shape[:-1]``.
    """
    if temperature <= 0:
        return logits.argmax(-1)
    x = logits / temperature
    if top_k and top_k < x.shape[-1]:
        kth = torch.topk(x, top_k, dim=-1).values[..., -1:]
        x = x.masked_fill(x < kth, -float("inf"))
    if top_p < 1.0:
        srt, idx = torch.sort(x, dim=-1, descending=True)
        p = torch.softmax(srt, -1)
        remove = p.cumsum(-1) - p > top_p                      # keep the smallest prefix reaching top_p
        srt = srt.masked_fill(remove, -float("inf"))
        x = torch.full_like(x, -float("inf")).scatter(-1, idx, srt)
    p = torch.softmax(x, -1)
    flat = p.reshape(-1, p.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).reshape(p.shape[:-1])


def frames_from_timings(phones: list[dict], n_frames: int, frame_rate: float) -> tuple[list[int], list[int]]:
    """Corpus phone timings -> (phone ids, frames per phone) summing exactly to ``n_frames``."""
    ids, durs, prev = [], [], 0
    for i, ph in enumerate(phones):
        end = n_frames if i == len(phones) - 1 else min(n_frames, round(float(ph["end"]) * frame_rate))
        end = max(end, prev)
        ids.append(PHONE_ID.get(str(ph["phone"]).lower(), PHONE_ID["pau"]))
        durs.append(end - prev)
        prev = end
    return ids, durs
