"""Spectral RVQ codec: the compact codec that trains in minutes on a shared CPU.

Same interface as :class:`~emotive.generators.speech.codec.SpeechCodec`
(``encode(wav, sr) -> codes [B, K, T]`` at 50 Hz, ``decode(codes) -> wav [B, 1, T]``).

Why not the waveform EnCodec architecture for the embedded default: measured
here, the 16 kHz EncodecModel (8 filters, 1.1M params) trained with multi-scale
spectral losses reached only STOI 0.46 after 400 steps (~10 min on a shared
core) and its loss improves slowly, because the SEANet convolutions run at the
16 kHz sample rate. This codec works on frames: log-magnitude STFT (1024-point,
hop 160 = 100 Hz) -> conv encoder (pairs of frames -> one 50 Hz latent) -> the
same residual VQ (8 x 1024 codes = 4 kbps) -> conv decoder -> log-magnitudes ->
waveform by fast Griffin-Lim (Griffin & Lim 1984; Perraudin et al. 2013,
momentum 0.99) from a fixed phase initialisation, so decoding is deterministic.
The price is Griffin-Lim's phasiness; the gain is a codec that converges within
the training budget. STOI decides (see the MODEL_CARD).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotive.generators.speech.codec import CodecError, CodecFacts, CodecInfo, audio_batch, code_batch

SPECTRAL_FORMAT_VERSION = 1


@dataclass
class SpectralCodecConfig:
    sample_rate: int = 16000
    n_fft: int = 1024            # 64 ms window: resolves harmonics down to ~60 Hz F0
    hop: int = 160               # 10 ms analysis hop (6.4x overlap helps Griffin-Lim)
    stack: int = 2               # frames per code frame -> 50 Hz codes
    channels: int = 256
    blocks: int = 4              # residual conv blocks in encoder and decoder
    latent: int = 128
    num_codebooks: int = 8
    codebook_size: int = 1024
    gl_iters: int = 16           # Griffin-Lim iterations: STOI of true magnitudes 0.984 (16), 0.989 (32), 0.991 (48); RTF 0.12/0.16/0.21 (measured here)
    codec_type: str = "spectral"
    version: int = SPECTRAL_FORMAT_VERSION

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / (self.hop * self.stack)


def tiny_spectral_config() -> SpectralCodecConfig:
    return SpectralCodecConfig(n_fft=256, hop=80, channels=16, blocks=1, latent=8, num_codebooks=2,
                               codebook_size=32, gl_iters=4)


class ResBlock(nn.Module):
    def __init__(self, c: int, dilation: int):
        super().__init__()
        self.net = nn.Sequential(nn.GELU(), nn.Conv1d(c, c, 3, padding=dilation, dilation=dilation),
                                 nn.GELU(), nn.Conv1d(c, c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class SpectralCodec(CodecFacts, nn.Module):
    """Log-magnitude conv autoencoder + RVQ + Griffin-Lim (see module docstring)."""

    def __init__(self, config: SpectralCodecConfig):
        super().__init__()
        self.config = c = config
        nb = c.n_fft // 2 + 1
        self.n_bins = nb
        dil = [1, 2, 4, 8]
        self.encoder = nn.Sequential(
            nn.Conv1d(nb * c.stack, c.channels, 3, padding=1),
            *[ResBlock(c.channels, dil[i % 4]) for i in range(c.blocks)],
            nn.GELU(), nn.Conv1d(c.channels, c.latent, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv1d(c.latent, c.channels, 3, padding=1),
            *[ResBlock(c.channels, dil[i % 4]) for i in range(c.blocks)],
            nn.GELU(), nn.Conv1d(c.channels, nb * c.stack, 3, padding=1),
        )
        self.register_buffer("embed", torch.zeros(c.num_codebooks, c.codebook_size, c.latent))
        self.register_buffer("window", torch.hann_window(c.n_fft))
        self.register_buffer("feat_mean", torch.zeros(nb))
        self.register_buffer("feat_std", torch.ones(nb))
        self.info = CodecInfo(c.sample_rate, c.frame_rate, c.num_codebooks, c.codebook_size)
        self.hop_length = c.hop * c.stack
        self.bandwidth = None

    # -------------------------------------------------------------- SpeechCodec interface
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # -------------------------------------------------------------- features
    def logmag(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] (T multiple of hop*stack) -> normalised log magnitude [B, F, T / hop]."""
        c = self.config
        x = wav[:, 0]
        s = torch.stft(x, c.n_fft, c.hop, window=self.window, center=True, return_complex=True)
        s = s[..., : x.shape[-1] // c.hop]
        return (torch.log(s.abs() + 1e-5) - self.feat_mean[:, None]) / self.feat_std[:, None]

    def latents(self, feats: torch.Tensor) -> torch.Tensor:
        """[B, F, N] (N multiple of stack) -> [B, latent, N / stack]."""
        b, f, n = feats.shape
        st = self.config.stack
        x = feats.reshape(b, f, n // st, st).permute(0, 1, 3, 2).reshape(b, f * st, n // st)
        return self.encoder(x)

    def features_from_latents(self, z: torch.Tensor) -> torch.Tensor:
        """[B, latent, T] -> normalised log magnitude [B, F, T * stack]."""
        y = self.decoder(z)
        b, _, t = y.shape
        st = self.config.stack
        return y.reshape(b, self.n_bins, st, t).permute(0, 1, 3, 2).reshape(b, self.n_bins, t * st)

    def _nearest(self, x: torch.Tensor, i: int) -> torch.Tensor:
        e = self.embed[i]
        return (x.pow(2).sum(1, keepdim=True) - 2 * x @ e.t() + e.pow(2).sum(1)[None]).argmin(1)

    def quantize(self, z: torch.Tensor, n_q: int | None = None) -> torch.Tensor:
        """[B, D, T] -> codes [B, K, T] (greedy residual VQ)."""
        b, d, t = z.shape
        r = z.permute(0, 2, 1).reshape(-1, d)
        codes = []
        for i in range(n_q or self.num_codebooks):
            idx = self._nearest(r, i)
            r = r - self.embed[i][idx]
            codes.append(idx.view(b, t))
        return torch.stack(codes, 1)

    def dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, K, T] -> [B, D, T]."""
        z = sum(self.embed[i][codes[:, i]] for i in range(codes.shape[1]))
        return z.permute(0, 2, 1)

    def griffin_lim(self, logmag: torch.Tensor, length: int) -> torch.Tensor:
        """Normalised log magnitude [B, F, N] -> wav [B, 1, length] (fast Griffin-Lim, fixed phase init)."""
        c = self.config
        mag = torch.exp(logmag * self.feat_std[:, None] + self.feat_mean[:, None])
        mag = F.pad(mag, (0, 1), mode="replicate")                         # center=True frame count
        g = torch.Generator().manual_seed(0)
        ang = torch.exp(2j * math.pi * torch.rand(mag.shape, generator=g))
        prev = torch.zeros_like(ang)
        for _ in range(c.gl_iters):
            y = torch.istft(mag * ang, c.n_fft, c.hop, window=self.window, length=length)
            s = torch.stft(y, c.n_fft, c.hop, window=self.window, return_complex=True)
            new = s / (s.abs() + 1e-8)
            ang = new + 0.99 * (new - prev)
            prev = new
            ang = ang / (ang.abs() + 1e-8)
        y = torch.istft(mag * ang, c.n_fft, c.hop, window=self.window, length=length)
        return y[:, None]

    def _as_batch(self, wav, sr):
        x = audio_batch(wav, sr, self.sample_rate)
        pad = (-x.shape[-1]) % self.hop_length
        return torch.from_numpy(np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (0, pad)))))

    @torch.no_grad()
    def encode(self, wav: np.ndarray | torch.Tensor, sr: int | None = None) -> torch.Tensor:
        """Audio [T] / [B, T] / [B, 1, T] at ``sr`` Hz -> codes LongTensor [B, K, ceil(T / 320)] at 50 Hz."""
        x = self._as_batch(wav, sr)
        return self.quantize(self.latents(self.logmag(x)))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [B, K, T] (or [K, T]) -> waveform [B, 1, T * 320] at 16 kHz."""
        c = code_batch(codes, self.num_codebooks, self.codebook_size)
        if c.shape[-1] == 0:
            return torch.zeros(c.shape[0], 1, 0)
        feats = self.features_from_latents(self.dequantize(c.long()))
        return self.griffin_lim(feats, c.shape[-1] * self.hop_length)

    def resynthesize(self, wav: np.ndarray, sr: int) -> np.ndarray:
        codes = self.encode(wav, sr)
        n = round(len(wav) * self.sample_rate / sr)
        return self.decode(codes)[0, 0, :n].numpy()

    # -------------------------------------------------------------- io
    def save_pretrained(self, path: str | Path) -> None:
        from safetensors.torch import save_file

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.state_dict().items() if k != "window"}, str(p / "model.safetensors"))
        (p / "config.json").write_text(json.dumps(asdict(self.config), indent=1))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> SpectralCodec:
        from safetensors.torch import load_file

        p = Path(path)
        cfg = json.loads((p / "config.json").read_text())
        if cfg.get("version") != SPECTRAL_FORMAT_VERSION:
            raise CodecError(f"Spectral codec at {p} has format version {cfg.get('version')}; "
                             f"this emotive reads {SPECTRAL_FORMAT_VERSION}.")
        m = cls(SpectralCodecConfig(**cfg))
        sd = load_file(str(p / "model.safetensors"))
        sd["window"] = m.window
        m.load_state_dict(sd)
        return m.eval()


# ---------------------------------------------------------------------- training
@dataclass
class SpectralTrainConfig:
    tiny: bool = False
    segment_s: float = 2.0
    batch_size: int = 16
    lr: float = 1e-3
    ae_warmup: int = 300
    ema_decay: float = 0.99
    commit_weight: float = 0.25
    dead_after: int = 50
    max_steps: int = 100_000
    eval_every: int = 500
    eval_clips: int = 8
    ckpt_every_s: float = 180.0
    freeze_encoder: bool = False
    seed: int = 0
    heldout_speaker: str = "awb"


def train_spectral_codec(corpus: str | Path, out: str | Path, cfg: SpectralTrainConfig | None = None,
                         max_minutes: float | None = None, progress: bool = True) -> dict:
    """Train or resume the spectral codec; writes ``<out>/ckpt.pt``, ``<out>/latest/``, ``train.log``, ``eval.jsonl``."""
    from accelerate import Accelerator
    from tqdm import tqdm

    from emotive.generators.speech.codec_train import (
        SegmentSampler,
        TrainableRVQ,
        _log,
        load_rows,
        read_audio,
        split_rows,
        stoi_of,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = cfg or SpectralTrainConfig()
    ckpt_path = out / "ckpt.pt"
    state = torch.load(ckpt_path, map_location="cpu", weights_only=False) if ckpt_path.exists() else None
    if state is not None:
        keep = {"max_steps": cfg.max_steps, "freeze_encoder": cfg.freeze_encoder, "eval_every": cfg.eval_every}
        cfg = SpectralTrainConfig(**{**asdict(cfg), **state["cfg"], **keep})
    torch.manual_seed(cfg.seed)
    ccfg = tiny_spectral_config() if cfg.tiny else SpectralCodecConfig()
    codec = SpectralCodec(ccfg)
    rvq = TrainableRVQ(ccfg.num_codebooks, ccfg.codebook_size, ccfg.latent, cfg.ema_decay, cfg.dead_after)
    rows = load_rows(corpus)
    train_rows, seen, unseen = split_rows(rows, cfg.heldout_speaker)
    sr = ccfg.sample_rate
    seg = int(cfg.segment_s * sr) // codec.hop_length * codec.hop_length
    sampler = SegmentSampler(train_rows, sr, seg, cfg.seed + (state["step"] if state else 0))
    step = 0
    if state is not None:
        codec.load_state_dict(state["codec"])
        rvq.load_state_dict(state["rvq"])
        step = int(state["step"])
    else:
        # per-bin normalisation of log magnitudes from a sample of the training audio
        with torch.no_grad():
            lm = codec.logmag(sampler.batch(32))
            codec.feat_mean.copy_(lm.mean((0, 2)))
            codec.feat_std.copy_(lm.std((0, 2)).clamp(min=0.1))
    if cfg.freeze_encoder:
        codec.encoder.requires_grad_(False)
        params = list(codec.decoder.parameters())
    else:
        params = list(codec.encoder.parameters()) + list(codec.decoder.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr, betas=(0.9, 0.99))
    if state is not None and bool(state.get("frozen", False)) == cfg.freeze_encoder:
        opt.load_state_dict(state["opt"])
    acc = Accelerator(cpu=True)
    codec, rvq, opt = acc.prepare(codec, rvq, opt)
    erng = np.random.default_rng(123)
    seen_clips = [read_audio(r["wav"], sr) for r in erng.permutation(np.array(seen, dtype=object))[: cfg.eval_clips]]
    unseen_clips = [read_audio(r["wav"], sr) for r in erng.permutation(np.array(unseen, dtype=object))[: cfg.eval_clips]]
    _log(out, f"start step {step}: spectral codec {codec.num_parameters() / 1e6:.2f}M params, {len(train_rows)} train clips, "
              f"eval {len(seen_clips)} seen + {len(unseen_clips)} held-out-speaker clips, frozen encoder={cfg.freeze_encoder}")

    def export() -> SpectralCodec:
        m = acc.unwrap_model(codec)
        m.embed.copy_(acc.unwrap_model(rvq).embed)
        return m.eval()

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"codec": acc.unwrap_model(codec).state_dict(), "rvq": acc.unwrap_model(rvq).state_dict(),
                    "opt": opt.state_dict(), "step": step, "cfg": asdict(cfg), "frozen": cfg.freeze_encoder}, tmp)
        os.replace(tmp, ckpt_path)
        export().save_pretrained(out / "latest")
        (out / "latest" / "train_state.json").write_text(json.dumps({"step": step, "cfg": asdict(cfg)}))

    def evaluate() -> dict:
        m = export()
        return {"step": step, "loss": run, "stoi_seen": stoi_of(m, seen_clips, sr), "stoi_unseen": stoi_of(m, unseen_clips, sr)}

    t0 = t_ck = time.time()
    last: dict = {"step": step}
    run = None
    bar = tqdm(total=cfg.max_steps, initial=step, disable=not progress, desc="codec", mininterval=10)
    while step < cfg.max_steps:
        codec.train()
        rvq.train()
        if cfg.freeze_encoder:
            rvq.eval()
        x = sampler.batch(cfg.batch_size)
        with torch.no_grad():
            target = acc.unwrap_model(codec).logmag(x)
        z = acc.unwrap_model(codec).latents(target)
        quant = step >= cfg.ae_warmup
        if quant:
            zq, _, commit = rvq(z)
        else:
            zq, commit = z, z.new_zeros(())
        y = acc.unwrap_model(codec).features_from_latents(zq)
        rec = F.l1_loss(y, target) + F.mse_loss(y, target)
        loss = rec + cfg.commit_weight * commit
        opt.zero_grad(set_to_none=True)
        acc.backward(loss)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        lv = float(rec.detach())
        run = lv if run is None else 0.98 * run + 0.02 * lv
        bar.update(1)
        if step % 50 == 0:
            _log(out, f"step {step} rec {run:.4f} commit {float(commit):.4f} q={quant}")
        if step % cfg.eval_every == 0:
            last = evaluate()
            _log(out, "eval " + json.dumps(last))
            with open(out / "eval.jsonl", "a") as f:
                f.write(json.dumps(last) + "\n")
        if time.time() - t_ck > cfg.ckpt_every_s:
            save()
            t_ck = time.time()
        if max_minutes is not None and (time.time() - t0) / 60 > max_minutes:
            break
    if "stoi_seen" not in last or last["step"] != step:
        last = evaluate()
        _log(out, "eval " + json.dumps(last))
    save()
    bar.close()
    _log(out, f"stopped at step {step}")
    return last
