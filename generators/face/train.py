"""Training recipe of the motion denoiser (runs under ``accelerate``; one CPU here).

Data: :func:`dataset.build_dataset` arrays (speech-corpus audio features + emotion + procedural
motion takes). Windows of ``window`` frames are cut at random; the model learns x_0 prediction
with the DDPM noise schedule (diffusers ``DDPMScheduler``, cosine betas), emotion dropped with
probability ``p_uncond`` (classifier-free guidance), loss = MSE(x_0) + ``vel_weight`` * MSE of
frame-to-frame differences (smooth, not jittery, motion). Checkpoints (model + optimiser + step)
every ``ckpt_minutes`` into ``work_dir``; ``resume`` continues from the last one.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from emotive.conditioning.encoder import ConditionDropout
from emotive.generators.face.model import MotionDenoiser

TRAIN_TIMESTEPS = 1000


@dataclass
class TrainConfig:
    window: int = 64  # frames (2.56 s at 25 fps); longer audio is sampled in overlapping windows
    batch_size: int = 16
    steps: int = 8000
    lr: float = 3e-4
    warmup: int = 300
    p_uncond: float = 0.15
    vel_weight: float = 1.0
    seed: int = 0
    ckpt_minutes: float = 3.0
    dim: int = 128
    layers: int = 4
    heads: int = 4
    ff: int = 384


def make_scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=TRAIN_TIMESTEPS, beta_schedule="squaredcos_cap_v2", prediction_type="sample"
    )


class WindowSampler:
    """Random fixed-length windows from ragged clips (short clips padded, padding masked)."""

    def __init__(self, data: dict, clip_ids: np.ndarray, window: int, rng: np.random.Generator):
        self.feats, self.motion, self.emo, self.off = (
            data["feats"],
            data["motion"],
            data["emo"],
            data["offsets"],
        )
        self.ids, self.window, self.rng = clip_ids, window, rng

    def batch(self, n: int) -> tuple[torch.Tensor, ...]:
        w = self.window
        f = np.zeros((n, w, self.feats.shape[1]), np.float32)
        m = np.zeros((n, w, self.motion.shape[1]), np.float32)
        mask = np.zeros((n, w), np.float32)
        e = np.zeros((n, self.emo.shape[1]), np.float32)
        for k, c in enumerate(self.rng.choice(self.ids, size=n)):
            a, b = self.off[c], self.off[c + 1]
            length = b - a
            s = a + (self.rng.integers(0, length - w + 1) if length > w else 0)
            L = min(w, length)
            f[k, :L] = self.feats[s : s + L]
            m[k, :L] = self.motion[s : s + L]
            if w > L:  # pad: silence-like features, motion held at its last frame
                f[k, L:] = self.feats[s + L - 1]
                m[k, L:] = m[k, L - 1]
            mask[k, :L] = 1
            e[k] = self.emo[c]
        return torch.from_numpy(f), torch.from_numpy(m), torch.from_numpy(mask), torch.from_numpy(e)


def load_data(path: str | Path) -> tuple[dict, list[dict]]:
    d = np.load(path)
    data = {k: d[k] for k in ("feats", "motion", "emo", "offsets")}
    meta = json.loads(str(d["meta"]))
    return data, meta


def loss_fn(model, sched, f, m, mask, e, p_uncond, vel_weight, gen, dropout: ConditionDropout):
    x0 = model.normalise(m)
    t = torch.randint(0, TRAIN_TIMESTEPS, (len(x0),), generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    xt = sched.add_noise(x0, noise, t)
    drop = dropout.mask(len(x0))
    pred = model(xt, t, f, e, drop_emotion=drop)
    w = mask[..., None]
    mse = ((pred - x0) ** 2 * w).sum() / (w.sum() * x0.shape[-1])
    wv = (mask[:, 1:] * mask[:, :-1])[..., None]
    vel = (((pred[:, 1:] - pred[:, :-1]) - (x0[:, 1:] - x0[:, :-1])) ** 2 * wv).sum() / (
        wv.sum() * x0.shape[-1] + 1e-9
    )
    return mse + vel_weight * vel, mse, vel


def train(
    data_path: str | Path, work_dir: str | Path, cfg: TrainConfig, resume: bool = True, log=print
) -> Path:
    """Train; returns the path of the last checkpoint folder (``work_dir/last``)."""
    from accelerate import Accelerator

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    data, meta = load_data(data_path)
    split = np.array([m["split"] for m in meta])
    train_ids = np.nonzero(split == "train")[0]
    val_ids = np.nonzero(split != "train")[0]
    if len(val_ids) == 0:
        val_ids = train_ids[: max(1, len(train_ids) // 10)]
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = MotionDenoiser(
        dim=cfg.dim, layers=cfg.layers, heads=cfg.heads, ff=cfg.ff, max_frames=max(256, cfg.window)
    )
    mot = torch.from_numpy(
        data["motion"][
            np.concatenate(
                [
                    data["offsets"][i] + np.arange(data["offsets"][i + 1] - data["offsets"][i])
                    for i in train_ids
                ]
            )
        ]
    )
    model.motion_mean.copy_(mot.mean(0))
    model.motion_std.copy_(mot.std(0).clamp_min(1e-2))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)

    def lr_at(s: int) -> float:  # linear warm-up, cosine decay to 10%
        cos = 0.5 * (1 + math.cos(math.pi * min(1.0, s / cfg.steps)))
        return cfg.lr * min(1.0, (s + 1) / cfg.warmup) * (0.1 + 0.9 * cos)

    step = 0
    last = work / "last"
    if resume and (last / "state.pt").exists():
        st = torch.load(last / "state.pt", weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step = st["step"]
        rng = st["rng"]
        gen.set_state(st["gen"])
        log(f"resumed at step {step}")
    acc = Accelerator(cpu=True)
    model, opt = acc.prepare(model, opt)
    sched = make_scheduler()
    dropout = ConditionDropout(cfg.p_uncond, seed=cfg.seed + step)
    train_s = WindowSampler(data, train_ids, cfg.window, rng)
    val_s = WindowSampler(data, val_ids, cfg.window, np.random.default_rng(123))
    val_batches = [val_s.batch(cfg.batch_size) for _ in range(4)]
    t_ckpt = time.time()
    t0 = time.time()
    hist = []
    while step < cfg.steps:
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        loss, mse, vel = loss_fn(
            model, sched, *train_s.batch(cfg.batch_size), cfg.p_uncond, cfg.vel_weight, gen, dropout
        )
        opt.zero_grad()
        acc.backward(loss)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        hist.append(float(mse))
        if step % 100 == 0:
            log(
                f"step {step} mse {np.mean(hist[-100:]):.4f} vel {float(vel):.4f} lr {lr_at(step):.2e} {step / (time.time() - t0 + 1e-9):.1f} it/s"
            )
        if time.time() - t_ckpt > cfg.ckpt_minutes * 60 or step == cfg.steps:
            model.eval()
            with torch.no_grad():
                vg = torch.Generator().manual_seed(7)
                vl = np.mean(
                    [
                        float(loss_fn(model, sched, *b, 0.0, cfg.vel_weight, vg, ConditionDropout(0.0, 0))[1])
                        for b in val_batches
                    ]
                )
            save_checkpoint(acc.unwrap_model(model), opt, step, rng, gen, last, cfg, {"val_mse": float(vl)})
            log(f"checkpoint step {step} val_mse {vl:.4f}")
            t_ckpt = time.time()
    return last


def save_checkpoint(model, opt, step, rng, gen, folder: Path, cfg: TrainConfig, metrics: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "state.pt.tmp"
    torch.save(
        {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "step": step,
            "rng": rng,
            "gen": gen.get_state(),
        },
        tmp,
    )
    tmp.replace(folder / "state.pt")
    model.save_pretrained(folder / "model")
    (folder / "train_info.json").write_text(
        json.dumps({"step": step, "config": asdict(cfg), **metrics}, indent=1)
    )


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="train the face motion denoiser")
    ap.add_argument("data")
    ap.add_argument("work_dir")
    ap.add_argument("--steps", type=int, default=TrainConfig.steps)
    ap.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    args = ap.parse_args()
    torch.set_num_threads(1)
    train(
        args.data,
        args.work_dir,
        TrainConfig(steps=args.steps, batch_size=args.batch_size),
        log=lambda s: print(s, flush=True),
    )


def export_pretrained(checkpoint: str | Path, out_dir: str | Path, card: str, window: int) -> Path:
    """Copy a training checkpoint's model into a shippable folder (config.json, model.safetensors,
    pipeline.json, MODEL_CARD.md)."""
    from emotive.generators.face.pipeline import MotionDiffusionPipeline, load_denoiser

    model = load_denoiser(Path(checkpoint) / "model")
    pipe = MotionDiffusionPipeline(model, window=window, num_train_timesteps=TRAIN_TIMESTEPS)
    out = Path(out_dir)
    pipe.save_pretrained(out)
    (out / "MODEL_CARD.md").write_text(card)
    return out


def evaluate_model(
    pipe, rows: list[dict], n: int = 40, seed: int = 0, guidance_scale: float = 2.0, **sample_kwargs
) -> dict:
    """Held-out checks of a trained motion model on corpus rows (not used in training).

    - ``jaw_energy_r``: corr(sampled jawOpen, audio loudness per frame), best lag within ±3 frames,
      mean over clips (``procedural_jaw_energy_r``: the same for the procedural training motion);
    - ``emotion_nearest_acc``: the sampled clip's mean expression (non-mouth shapes + smile/frown) is
      nearest (cosine) to the FACS prototype of the requested label, among the 7 non-calm labels
      (clips with label intensity >= 0.5 only);
    - ``sample_s_per_10s``: sampling wall time per 10 s of audio (``sample_kwargs``: num_steps, scheduler).
    """
    import soundfile as sf

    from emotive.conditioning import Emotion
    from emotive.evaluators.face.blendshapes import ARKIT_NAMES, BLENDSHAPE_INDEX
    from emotive.generators.face.expressions import PROTOTYPE_BLENDSHAPES
    from emotive.generators.face.phones import phones_from_manifest_row
    from emotive.generators.face.procedural import energy_envelope, synthesize_motion

    rng = np.random.default_rng(seed)
    pick = [rows[i] for i in rng.permutation(len(rows))[:n]]
    expr_idx = [i for i, nme in enumerate(ARKIT_NAMES) if nme.startswith(("brow", "eye", "cheek", "nose"))]
    expr_idx += [
        BLENDSHAPE_INDEX[k]
        for k in ("mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight")
    ]
    expr_idx = [i for i in expr_idx if not ARKIT_NAMES[i].startswith("eyeBlink")]
    labels = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]
    protos = np.stack([PROTOTYPE_BLENDSHAPES[lbl][expr_idx] for lbl in labels])

    def best_r(jaw, e):
        best = -1.0
        for lag in range(-3, 4):
            a, b = (jaw[lag:], e[: len(e) - lag]) if lag >= 0 else (jaw[:lag], e[-lag:])
            if len(a) > 3 and np.std(a) > 1e-6 and np.std(b) > 1e-6:
                best = max(best, float(np.corrcoef(a, b)[0, 1]))
        return best

    rs, rs_proc, hits, total_s, total_audio = [], [], [], 0.0, 0.0
    for k, r in enumerate(pick):
        audio, sr = sf.read(r["wav"], dtype="float32")
        emo = Emotion.from_dict(r["emotion"])
        gen = torch.Generator().manual_seed(seed + k)
        out = pipe(audio, sr, emo, generator=gen, guidance_scale=guidance_scale, **sample_kwargs)
        total_s += out.seconds
        total_audio += len(audio) / sr
        m = out.motion
        e = energy_envelope(audio, sr, len(m))
        rs.append(best_r(m.curve("jawOpen"), e))
        proc = synthesize_motion(phones_from_manifest_row(r), emo, audio=audio, sr=sr, rng=seed + k)
        rs_proc.append(best_r(proc.curve("jawOpen"), e))
        if emo.label in labels and emo.intensity >= 0.5:
            v = m.blendshapes[len(m) // 4 :, expr_idx].mean(axis=0)
            sims = protos @ v / (np.linalg.norm(protos, axis=1) * np.linalg.norm(v) + 1e-9)
            sims[0] = 1.0 - np.linalg.norm(v) / (np.linalg.norm(v) + 0.3)  # neutral: small expression
            hits.append(labels[int(np.argmax(sims))] == emo.label)
    return {
        "clips": len(pick),
        "jaw_energy_r": float(np.mean(rs)),
        "procedural_jaw_energy_r": float(np.mean(rs_proc)),
        "emotion_nearest_acc": float(np.mean(hits)) if hits else None,
        "emotion_clips": len(hits),
        "sample_s_per_10s": total_s / max(total_audio, 1e-9) * 10,
    }
