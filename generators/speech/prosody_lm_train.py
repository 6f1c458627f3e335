"""Training recipe of the prosody LM (``emotive train speech-lm``).

1. Data (``prosody_lm_data.build_data``): Kokoro front + prosody with the rules, quantised; shards in
   ``<out>/data`` (resumable).
2. Train :class:`ProsodyLM` by teacher forcing with CFG dropout on the emotion, batches of similar length under a
   frame budget, AdamW with warmup and cosine decay, under ``accelerate`` (one CPU process here; more processes or
   GPUs unchanged). Resumable from ``<out>/ckpt.pt`` (written every ``ckpt_every_s``); held-out loss on the val
   sentences every ``eval_every`` steps; ``<out>/train.log``; the latest model in ``<out>/latest/``, the lowest
   held-out loss in ``<out>/best/``.
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
from emotive.generators.speech.prosody_codec import CodecConfig
from emotive.generators.speech.prosody_lm import (
    N_NEUTRAL_FEATS,
    ProsodyLM,
    ProsodyLMConfig,
    codes_to_steps,
    neutral_frames,
    neutral_reference,
    tiny_config,
)


@dataclass
class TrainConfig:
    """Optimisation settings (the shipped run's values are the defaults)."""

    tiny: bool = False
    frames_per_batch: int = 3000      # 25 ms steps per batch: 75 s of speech
    lr: float = 2e-3
    warmup: int = 100
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    max_steps: int = 3000
    eval_every: int = 200
    ckpt_every_s: float = 180.0
    seed: int = 0
    first_gain_weight: float = 0.0    # see ProsodyLM.forward; the shipped run: 0 to step 1200, then 1
    neutral_ref: bool = False         # a new run's LM conditions on Kokoro's neutral reading (ProsodyLMConfig)


def examples(items: list[dict]) -> list[dict]:
    """(sentence, voice) items -> one example per emotion take (tensors shared, not copied); items that carry
    Kokoro's neutral reading (``nf0``, ``nN``) give their examples its :func:`neutral_reference`."""
    out = []
    codec = CodecConfig()
    for it in items:
        neu = None
        if "nf0" in it:
            neu = neutral_reference(neutral_frames(it["dur"].numpy()), it["nf0"].numpy(), it["nN"].float().numpy(),
                                    codec)
        for tk in it["takes"]:
            out.append({"ids": it["ids"], "d": it["d"], "dur": it["dur"], "style": it["style"],
                        "feats": tk["feats"], "steps": codes_to_steps(tk["codes"].long()), "neutral": neu})
    return out


def collate(batch: list[dict]) -> dict[str, torch.Tensor]:
    """Examples -> padded tensors for :meth:`ProsodyLM.forward`."""
    b = len(batch)
    n = max(len(x["dur"]) for x in batch)
    t = max(x["steps"].shape[0] for x in batch)
    ids = torch.zeros(b, n, dtype=torch.long)
    front = torch.zeros(b, n, batch[0]["d"].shape[1])
    dur = torch.ones(b, n)
    pad = torch.ones(b, n, dtype=torch.bool)
    steps = torch.zeros(b, t, 6, dtype=torch.long)
    for i, x in enumerate(batch):
        k = len(x["dur"])
        ids[i, 1: k - 1] = x["ids"].long()
        front[i, :k] = x["d"].float()
        dur[i, :k] = x["dur"]
        pad[i, :k] = False
        steps[i, : x["steps"].shape[0]] = x["steps"]
    out = {"ids": ids, "front": front, "kokoro_dur": dur, "pad": pad,
           "style": torch.stack([x["style"] for x in batch]), "emotion": torch.stack([x["feats"] for x in batch]),
           "steps": steps, "n_steps": torch.tensor([x["steps"].shape[0] for x in batch])}
    if all(x.get("neutral") is not None for x in batch):
        tn = max(x["neutral"]["ref"].shape[0] for x in batch)
        out["n_ref"] = torch.zeros(b, tn, 2, dtype=torch.long)
        out["n_feat"] = torch.zeros(b, tn, N_NEUTRAL_FEATS)
        out["n_start"] = torch.zeros(b, n, dtype=torch.long)
        out["n_frames"] = torch.ones(b, n, dtype=torch.long)
        for i, x in enumerate(batch):
            nx, k = x["neutral"], len(x["dur"])
            out["n_ref"][i, : len(nx["ref"])] = nx["ref"]
            out["n_feat"][i, : len(nx["feat"])] = nx["feat"]
            out["n_start"][i, :k] = nx["start"]
            out["n_frames"][i, :k] = nx["frames"]
    return out


def batches(exs: list[dict], frames: int, rng: np.random.Generator) -> list[list[int]]:
    """Indices grouped by similar length under ``frames`` padded steps per batch, in random order."""
    lens = np.array([x["steps"].shape[0] for x in exs])
    order = np.argsort(lens + rng.uniform(0, 8, len(lens)), kind="stable")
    out, cur, longest = [], [], 0
    for i in order:
        longest2 = max(longest, int(lens[i]))
        if cur and longest2 * (len(cur) + 1) > frames:
            out.append(cur)
            cur, longest2 = [], int(lens[i])
        cur.append(int(i))
        longest = longest2
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def _lr(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = min(1.0, (step - cfg.warmup) / max(1, cfg.max_steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


@torch.no_grad()
def evaluate(model: ProsodyLM, exs: list[dict], frames: int) -> dict[str, float]:
    """Held-out mean CE per sub-token head (token-weighted by batch) -> {"loss", "ce_boundary", "ce_pitch", ...}."""
    model.eval()
    rng = np.random.default_rng(0)
    tot, ces, n = 0.0, torch.zeros(6), 0
    for idx in batches(exs, frames, rng):
        out = model(**collate([exs[i] for i in idx]))
        k = len(idx)
        tot += float(out["loss"]) * k
        ces += out["ce"] * k
        n += k
    model.train()
    ces = ces / max(n, 1)
    names = ("boundary", "pitch_a", "pitch_b", "energy_a", "energy_b", "gain")
    return {"loss": tot / max(n, 1), **{f"ce_{m}": float(c) for m, c in zip(names, ces)}}


def train(train_items: list[dict], val_items: list[dict], out: str | Path, cfg: TrainConfig,
          model_config: ProsodyLMConfig | None = None, max_minutes: float | None = None) -> dict:
    """Train (or resume) in ``out``; returns {"step", "loss" (held-out), ...}."""
    from accelerate import Accelerator

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    def say(msg: str) -> None:
        with open(out / "train.log", "a") as log:
            log.write(f"{time.strftime('%H:%M:%S')} {msg}\n")

    torch.manual_seed(cfg.seed)
    mcfg = model_config or (tiny_config() if cfg.tiny else ProsodyLMConfig())
    if cfg.neutral_ref and model_config is None:
        mcfg = ProsodyLMConfig(**{**asdict(mcfg), "neutral_ref": True})
    ckpt = out / "ckpt.pt"
    state = torch.load(ckpt, weights_only=False) if ckpt.is_file() else None
    if state is not None:
        mcfg = ProsodyLMConfig(**state["model_config"])
    model = ProsodyLM(mcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    dropper = ConditionDropout(mcfg.cond_drop, seed=cfg.seed + 1)
    step, best, rng_state = 0, math.inf, None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        dropper.load_state_dict(state["dropper"])
        step, best, rng_state = state["step"], state["best"], state["rng"]
        say(f"resumed at step {step}")
    acc = Accelerator(cpu=True)
    model, opt = acc.prepare(model, opt)
    core = acc.unwrap_model(model)
    tr, va = examples(train_items), examples(val_items)
    if mcfg.neutral_ref and any(x["neutral"] is None for x in tr + va):
        raise ValueError("this LM conditions on Kokoro's neutral reading, and the data was made without it: "
                         "make the data again in a new --out")
    n_params = sum(p.numel() for p in core.parameters())
    say(f"train {len(tr)} utterances, val {len(va)}; {n_params / 1e6:.2f} M parameters; config {json.dumps(asdict(cfg))}")
    rng = np.random.default_rng(cfg.seed)
    if rng_state is not None:
        rng.bit_generator.state = rng_state
    t0 = last_ckpt = time.time()
    res: dict = {"step": step}

    def save_ckpt() -> None:
        tmp = out / "ckpt.pt.tmp"
        torch.save({"model": core.state_dict(), "opt": opt.state_dict(), "dropper": dropper.state_dict(),
                    "step": step, "best": best, "rng": rng.bit_generator.state,
                    "model_config": asdict(mcfg), "train_config": asdict(cfg)}, tmp)
        tmp.replace(ckpt)
        core.save_pretrained(out / "latest")

    model.train()
    done = step >= cfg.max_steps
    while not done:
        for idx in batches(tr, cfg.frames_per_batch, rng):
            for gparam in opt.param_groups:
                gparam["lr"] = _lr(step, cfg)
            b = collate([tr[i] for i in idx])
            outp = model(**b, drop=dropper.mask(len(idx)), first_gain_weight=cfg.first_gain_weight)
            opt.zero_grad(set_to_none=True)
            acc.backward(outp["loss"])
            acc.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step % 20 == 0:
                ce = " ".join(f"{float(c):.3f}" for c in outp["ce"])
                say(f"step {step} loss {float(outp['loss'].detach()):.4f} ce [{ce}] lr {_lr(step, cfg):.2e} "
                    f"{(time.time() - t0) / 60:.1f} min")
            stop = step >= cfg.max_steps or (max_minutes is not None and time.time() - t0 > 60 * max_minutes)
            if va and (step % cfg.eval_every == 0 or stop):
                ev = evaluate(core, va, cfg.frames_per_batch)
                res = {"step": step, **ev}
                say(f"eval step {step} " + " ".join(f"{k} {v:.4f}" for k, v in ev.items()))
                if ev["loss"] < best:
                    best = ev["loss"]
                    core.save_pretrained(out / "best")
                    (out / "best" / "metrics.json").write_text(json.dumps(res, indent=1))
            if stop or time.time() - last_ckpt > cfg.ckpt_every_s:
                save_ckpt()
                last_ckpt = time.time()
            if stop:
                done = True
                break
    if not (out / "latest" / "model.safetensors").is_file():
        save_ckpt()
    res["step"] = step
    res["best_loss"] = best
    say(f"stopped at step {step}")
    return res
