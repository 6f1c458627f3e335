"""Training recipe of the compact codec (``emotive train speech-codec``).

The encoder/decoder are the ``transformers.EncodecModel`` modules; the residual
vector quantiser is trained here the way EnCodec/SoundStream do it (EMA
codebook updates, straight-through gradients, commitment loss, restarts of
unused codes, van den Oord et al. 2017; Zeghidour et al. 2021) and written into
the EncodecModel's codebook buffers at export time.

Losses: multi-scale log-mel + linear-magnitude L1 (windows 256..2048 at 16 kHz,
after EnCodec's multi-scale spectral loss) + 0.1 x waveform L1 + commitment.
No adversarial loss: on a shared 2-core CPU the discriminators would roughly
double the step cost, and the budget here is a few thousand steps.

Schedule: the first ``ae_warmup`` steps train a plain autoencoder (no
quantisation) so that codebooks are initialised from meaningful latents
(samples of the residuals, no k-means: k-means costs ~17 s per codebook here).

Resumable: ``<out>/ckpt.pt`` every ``ckpt_every_s`` seconds; held-out STOI
(pystoi, Taal et al. 2011) every ``eval_every`` steps; log lines in ``<out>/train.log``.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotive.generators.speech.codec import CODEC_FORMAT_VERSION, SpeechCodec, compact_codec_config

HELDOUT_SPEAKER = "awb"
"""Speaker never seen by the codec in training (Scottish male flite voice): the held-out-speaker test."""


@dataclass
class CodecTrainConfig:
    preset: str = "default"
    segment_s: float = 1.0          # random crops; 1 s = 50 frames
    batch_size: int = 8
    lr: float = 1e-3
    betas: tuple[float, float] = (0.8, 0.99)
    ae_warmup: int = 150            # steps without quantisation before codebooks are initialised
    ema_decay: float = 0.99         # EnCodec's codebook EMA decay
    commit_weight: float = 1.0
    wave_weight: float = 0.1
    dead_after: int = 100           # steps without use before a code is restarted on a current residual
    max_steps: int = 100_000
    eval_every: int = 250
    eval_clips: int = 8
    ckpt_every_s: float = 240.0
    seed: int = 0
    freeze_encoder: bool = False    # train the decoder only: codes stay valid for an LM trained on them
    heldout_speaker: str = HELDOUT_SPEAKER
    scales: list[int] = field(default_factory=lambda: [256, 512, 1024, 2048])


# ---------------------------------------------------------------------- quantiser
class TrainableRVQ(nn.Module):
    """Residual VQ with EMA codebooks. ``forward(z [B, D, T]) -> (z_q, codes [B, K, T], commit_loss)``."""

    def __init__(self, num_quantizers: int, codebook_size: int, dim: int, decay: float = 0.99, dead_after: int = 100):
        super().__init__()
        self.k, self.n, self.d = num_quantizers, codebook_size, dim
        self.decay, self.dead_after = decay, dead_after
        self.register_buffer("embed", torch.zeros(num_quantizers, codebook_size, dim))
        self.register_buffer("embed_avg", torch.zeros(num_quantizers, codebook_size, dim))
        self.register_buffer("cluster_size", torch.zeros(num_quantizers, codebook_size))
        self.register_buffer("last_used", torch.zeros(num_quantizers, codebook_size, dtype=torch.long))
        self.register_buffer("inited", torch.zeros((), dtype=torch.bool))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    @staticmethod
    def _sample(x: torch.Tensor, n: int, g: torch.Generator | None = None) -> torch.Tensor:
        idx = torch.randint(0, x.shape[0], (n,), generator=g)
        return x[idx] + 1e-3 * x.std() * torch.randn(n, x.shape[1], generator=g)

    def _nearest(self, x: torch.Tensor, i: int) -> torch.Tensor:
        e = self.embed[i]
        d = x.pow(2).sum(1, keepdim=True) - 2 * x @ e.t() + e.pow(2).sum(1)[None]
        return d.argmin(1)

    def forward(self, z: torch.Tensor, n_q: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, d, t = z.shape
        x = z.permute(0, 2, 1).reshape(-1, d)
        n_q = self.k if n_q is None else n_q
        if self.training and not bool(self.inited):
            with torch.no_grad():
                r = x.detach()
                for i in range(self.k):
                    self.embed[i] = self._sample(r, self.n)
                    self.embed_avg[i] = self.embed[i].clone()
                    self.cluster_size[i] = 1.0
                    r = r - self.embed[i][self._nearest(r, i)]
                self.inited.fill_(True)
        residual = x
        quant = torch.zeros_like(x)
        codes = []
        commit = x.new_zeros(())
        for i in range(n_q):
            r = residual.detach()
            idx = self._nearest(r, i)
            q = self.embed[i][idx]
            if self.training:
                with torch.no_grad():
                    onehot = F.one_hot(idx, self.n).type_as(r)
                    counts = onehot.sum(0)
                    self.cluster_size[i].mul_(self.decay).add_(counts, alpha=1 - self.decay)
                    self.embed_avg[i].mul_(self.decay).add_(onehot.t() @ r, alpha=1 - self.decay)
                    nrm = self.cluster_size[i].sum()
                    cs = (self.cluster_size[i] + 1e-5) / (nrm + self.n * 1e-5) * nrm
                    self.embed[i].copy_(self.embed_avg[i] / cs[:, None])
                    self.last_used[i][counts > 0] = self.step
                    dead = (self.step - self.last_used[i]) > self.dead_after
                    if dead.any():
                        nd = int(dead.sum())
                        new = self._sample(r, nd)
                        self.embed[i][dead] = new
                        self.embed_avg[i][dead] = new
                        self.cluster_size[i][dead] = 1.0
                        self.last_used[i][dead] = self.step
            commit = commit + F.mse_loss(residual, q.detach())
            quant = quant + q
            residual = residual - q
            codes.append(idx.view(b, t))
        if self.training:
            self.step += 1
        # straight-through: gradients reach the encoder as if quantisation were identity
        zq = x + (quant - x).detach()
        return zq.view(b, t, d).permute(0, 2, 1), torch.stack(codes, 1), commit


class CodecTrainer(nn.Module):
    """EncodecModel encoder/decoder + TrainableRVQ. ``forward(wav [B,1,T], quantize) -> (recon, codes, commit)``."""

    def __init__(self, preset: str = "default", cfg: CodecTrainConfig | None = None):
        super().__init__()
        from transformers import EncodecModel

        cfg = cfg or CodecTrainConfig(preset=preset)
        self.hf_config = compact_codec_config(preset)
        model = EncodecModel(self.hf_config)
        self.encoder, self.decoder = model.encoder, model.decoder
        self.rvq = TrainableRVQ(self.hf_config.num_quantizers, self.hf_config.codebook_size,
                                self.hf_config.codebook_dim, cfg.ema_decay, cfg.dead_after)

    def forward(self, wav: torch.Tensor, quantize: bool = True):
        z = self.encoder(wav)
        if quantize:
            zq, codes, commit = self.rvq(z)
        else:
            zq, codes, commit = z, None, z.new_zeros(())
        y = self.decoder(zq)[..., : wav.shape[-1]]
        return y, codes, commit

    def export(self) -> SpeechCodec:
        """A SpeechCodec (plain transformers EncodecModel) carrying these weights and codebooks."""
        from transformers import EncodecModel

        model = EncodecModel(self.hf_config)
        model.encoder.load_state_dict(self.encoder.state_dict())
        model.decoder.load_state_dict(self.decoder.state_dict())
        for i, layer in enumerate(model.quantizer.layers):
            cb = layer.codebook
            cb.embed.copy_(self.rvq.embed[i])
            cb.embed_avg.copy_(self.rvq.embed_avg[i])
            cb.cluster_size.copy_(self.rvq.cluster_size[i])
            cb.inited.fill_(1.0)
        return SpeechCodec(model.eval())


# ---------------------------------------------------------------------- losses
class MultiScaleSpectralLoss(nn.Module):
    """Sum over STFT windows of L1(log mel) + L1(magnitude) (EnCodec's reconstruction loss, simplified)."""

    def __init__(self, sr: int, scales: list[int]):
        super().__init__()
        import librosa

        self.scales = list(scales)
        for w in self.scales:
            n_mels = min(80, w // 4)
            fb = librosa.filters.mel(sr=sr, n_fft=w, n_mels=n_mels, fmin=0.0, fmax=sr / 2)
            self.register_buffer(f"mel_{w}", torch.from_numpy(fb).float())
            self.register_buffer(f"win_{w}", torch.hann_window(w))

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        loss = y.new_zeros(())
        yb, xb = y.reshape(-1, y.shape[-1]), x.reshape(-1, x.shape[-1])
        for w in self.scales:
            win = getattr(self, f"win_{w}")
            sy = torch.stft(yb, w, w // 4, window=win, return_complex=True).abs()
            sx = torch.stft(xb, w, w // 4, window=win, return_complex=True).abs()
            fb = getattr(self, f"mel_{w}")
            my, mx = fb @ sy, fb @ sx
            loss = loss + F.l1_loss(torch.log(my + 1e-5), torch.log(mx + 1e-5)) + F.l1_loss(sy, sx)
        return loss / len(self.scales)


# ---------------------------------------------------------------------- data
def find_manifest(corpus: str | Path) -> Path:
    """``manifest.jsonl`` of a corpus folder, or the in-progress ``manifest.partial.jsonl`` while it is being built."""
    p = Path(corpus)
    if p.is_file():
        return p
    for name in ("manifest.jsonl", "manifest.partial.jsonl"):
        if (p / name).is_file():
            return p / name
    raise FileNotFoundError(f"No manifest.jsonl in {p}")


def load_rows(corpus: str | Path) -> list[dict]:
    """Manifest rows (``wav`` absolute). An in-progress ``manifest.partial.jsonl`` may end in a half-written
    line and list files still being written: only complete rows whose WAV exists are returned."""
    from emotive.generators.speech.corpus import read_manifest

    m = find_manifest(corpus)
    if m.name != "manifest.partial.jsonl":
        return read_manifest(m)
    rows = []
    for ln in m.read_text().splitlines():
        try:
            r = json.loads(ln)
        except json.JSONDecodeError:
            continue
        r["wav"] = str((m.parent / r["wav"]).resolve())
        if Path(r["wav"]).is_file():
            rows.append(r)
    return rows


def split_rows(rows: list[dict], heldout_speaker: str) -> tuple[list[dict], list[dict], list[dict]]:
    """(train, held-out sentences of seen speakers, held-out speaker on held-out sentences)."""
    train = [r for r in rows if r["split"] == "train" and r["speaker"] != heldout_speaker]
    test_seen = [r for r in rows if r["split"] == "test" and r["speaker"] != heldout_speaker]
    test_unseen = [r for r in rows if r["split"] == "test" and r["speaker"] == heldout_speaker]
    return train, test_seen, test_unseen


def read_audio(path: str, sr: int) -> np.ndarray:
    import soundfile as sf

    x, s = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(1)
    if s != sr:
        from emotive.generators.speech.codec import _resample

        x = _resample(x, s, sr)
    return x.astype(np.float32)


class SegmentSampler:
    """Random fixed-length crops from a list of clips (kept in RAM: 1 h at 16 kHz = 230 MB)."""

    def __init__(self, rows: list[dict], sr: int, seg: int, seed: int):
        self.audio = [read_audio(r["wav"], sr) for r in rows]
        self.audio = [a for a in self.audio if len(a) > 0]
        self.seg = seg
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> torch.Tensor:
        out = np.zeros((n, 1, self.seg), np.float32)
        for j in range(n):
            a = self.audio[self.rng.integers(len(self.audio))]
            if len(a) > self.seg:
                s = self.rng.integers(0, len(a) - self.seg)
                out[j, 0] = a[s: s + self.seg]
            else:
                out[j, 0, : len(a)] = a
        return torch.from_numpy(out)


# ---------------------------------------------------------------------- evaluation
def stoi_of(codec: SpeechCodec, clips: list[np.ndarray], sr: int) -> float:
    from pystoi import stoi

    vals = []
    for a in clips:
        y = codec.resynthesize(a, sr)
        vals.append(stoi(a, y[: len(a)], sr, extended=False))
    return float(np.mean(vals)) if vals else float("nan")


# ---------------------------------------------------------------------- training loop
def _log(out: Path, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(out / "train.log", "a") as f:
        f.write(line + "\n")


def train_codec(
    corpus: str | Path,
    out: str | Path,
    cfg: CodecTrainConfig | None = None,
    max_minutes: float | None = None,
    progress: bool = True,
) -> dict:
    """Train (or resume) the compact codec. Writes ``<out>/ckpt.pt``, ``<out>/latest/`` (exported codec) and
    ``<out>/train.log``. Returns the last evaluation: {"step", "stoi_seen", "stoi_unseen", "loss"}.
    """
    from accelerate import Accelerator
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "ckpt.pt"
    cfg = cfg or CodecTrainConfig()
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        keep = {"max_steps": cfg.max_steps, "freeze_encoder": cfg.freeze_encoder, "eval_every": cfg.eval_every}
        cfg = CodecTrainConfig(**{**asdict(cfg), **state["cfg"], **keep})
    else:
        state = None
    torch.manual_seed(cfg.seed)
    acc = Accelerator(cpu=True)
    trainer = CodecTrainer(cfg.preset, cfg)
    sr = trainer.hf_config.sampling_rate
    spec_loss = MultiScaleSpectralLoss(sr, cfg.scales)
    step = 0
    if state is not None:
        trainer.load_state_dict(state["model"])
        step = int(state["step"])
    if cfg.freeze_encoder:
        # encoder + codebooks fixed (codes of an LM's training data stay valid); only the decoder learns
        trainer.encoder.requires_grad_(False)
        params = list(trainer.decoder.parameters())
    else:
        params = list(trainer.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas)
    if state is not None and bool(state.get("frozen", False)) == cfg.freeze_encoder:
        opt.load_state_dict(state["opt"])
    trainer, opt = acc.prepare(trainer, opt)

    rows = load_rows(corpus)
    train_rows, seen, unseen = split_rows(rows, cfg.heldout_speaker)
    if not train_rows:
        raise RuntimeError(f"No training rows in {corpus}")
    sampler = SegmentSampler(train_rows, sr, int(cfg.segment_s * sr), cfg.seed + step)
    erng = np.random.default_rng(123)
    seen_clips = [read_audio(r["wav"], sr) for r in erng.permutation(np.array(seen, dtype=object))[: cfg.eval_clips]]
    unseen_clips = [read_audio(r["wav"], sr) for r in erng.permutation(np.array(unseen, dtype=object))[: cfg.eval_clips]]
    _log(out, f"start step {step}: {len(train_rows)} train clips ({sum(len(a) for a in sampler.audio) / sr / 60:.1f} min), "
              f"eval {len(seen_clips)} seen-speaker + {len(unseen_clips)} held-out-speaker ({cfg.heldout_speaker}) clips")

    def save_ckpt() -> None:
        m = acc.unwrap_model(trainer)
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": m.state_dict(), "opt": opt.state_dict(), "step": step, "cfg": asdict(cfg),
                    "frozen": cfg.freeze_encoder}, tmp)
        os.replace(tmp, ckpt_path)
        codec = m.export()
        codec.save_pretrained(out / "latest")
        (out / "latest" / "train_state.json").write_text(json.dumps({"step": step, "cfg": asdict(cfg)}, indent=1))

    last = {"step": step}
    t_ckpt = time.time()
    t_start = time.time()
    bar = tqdm(total=cfg.max_steps, initial=step, disable=not progress, desc="codec", mininterval=10)
    run_loss = None
    while step < cfg.max_steps:
        trainer.train()
        if cfg.freeze_encoder:
            trainer.encoder.eval()
            trainer.rvq.eval()
        x = sampler.batch(cfg.batch_size)
        quantize = step >= cfg.ae_warmup
        y, _, commit = trainer(x, quantize=quantize)
        rec = spec_loss(y, x) + cfg.wave_weight * F.l1_loss(y, x)
        loss = rec + cfg.commit_weight * commit
        opt.zero_grad(set_to_none=True)
        acc.backward(loss)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        lv = float(rec.detach())
        run_loss = lv if run_loss is None else 0.98 * run_loss + 0.02 * lv
        bar.update(1)
        if step % 25 == 0:
            _log(out, f"step {step} rec {run_loss:.4f} commit {float(commit):.4f} q={quantize}")
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            m = acc.unwrap_model(trainer).eval()
            codec = m.export()
            last = {"step": step, "loss": run_loss, "stoi_seen": stoi_of(codec, seen_clips, sr),
                    "stoi_unseen": stoi_of(codec, unseen_clips, sr)}
            _log(out, "eval " + json.dumps(last))
            with open(out / "eval.jsonl", "a") as f:
                f.write(json.dumps(last) + "\n")
        if time.time() - t_ckpt > cfg.ckpt_every_s or step == cfg.max_steps:
            save_ckpt()
            t_ckpt = time.time()
        if max_minutes is not None and (time.time() - t_start) / 60 > max_minutes:
            break
    if "stoi_seen" not in last:
        codec = acc.unwrap_model(trainer).eval().export()
        last = {"step": step, "loss": run_loss, "stoi_seen": stoi_of(codec, seen_clips, sr),
                "stoi_unseen": stoi_of(codec, unseen_clips, sr)}
        _log(out, "eval " + json.dumps(last))
    save_ckpt()
    bar.close()
    _log(out, f"stopped at step {step}")
    last["step"] = step
    return last


RUN_SECTION = "## Last recipe run (written by `--ship`)"


def merge_card(existing: str | None, card: str) -> str:
    """A shipped card keeps its curated text (measurements, history); the recipe's generated card replaces only
    the section under ``RUN_SECTION`` (appended when absent). A destination without a card gets ``card``."""
    if not existing or not existing.strip():
        return card
    head = existing.split(RUN_SECTION)[0].rstrip()
    body = "\n".join(ln for ln in card.splitlines() if not ln.startswith("# "))   # drop the generated title
    return f"{head}\n\n{RUN_SECTION}\n{body.strip()}\n"


def ship(out: str | Path, dest: str | Path, card: str) -> None:
    """Copy ``<out>/latest`` (exported codec) to ``dest``; the MODEL_CARD.md there keeps its curated text and
    gets this run's summary (``merge_card``)."""
    import shutil

    src = Path(out) / "latest"
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy2(src / name, dest / name)
    for name in ("decoder.json", "decoder.safetensors"):   # WORLD codec: decode-only settings and statistics
        if (src / name).is_file():
            shutil.copy2(src / name, dest / name)
        elif (dest / name).is_file():
            (dest / name).unlink()
    cfg = json.loads((dest / "config.json").read_text())
    if cfg.get("codec_type") not in ("spectral", "world") and cfg.get("emotive_codec_version") != CODEC_FORMAT_VERSION:
        raise RuntimeError(f"{src} is not an emotive codec export")
    mc = dest / "MODEL_CARD.md"
    mc.write_text(merge_card(mc.read_text() if mc.is_file() else None, card))


def bitrate_of(codec: SpeechCodec) -> float:
    return codec.num_codebooks * math.log2(codec.codebook_size) * codec.frame_rate
