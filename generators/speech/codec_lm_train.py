"""Training recipe of the codec LM (``emotive train speech-lm``).

1. Tokenise the corpus with a frozen codec: every clip -> codes [K, T] at the
   codec frame rate, phone ids + frames per phone from the corpus phone timings,
   voice id, emotion features. Cached in ``<out>/tokens.pt`` (keyed by the codec's
   weights hash, so a different codec re-tokenises).
2. Train ``CodecLM`` (teacher forcing, delay pattern, CFG dropout on emotion),
   batches bucketed by length under a frame budget, AdamW with warmup, under
   ``accelerate`` (one CPU process here). Resumable from ``<out>/ckpt.pt``;
   held-out loss on the test sentences every ``eval_every`` steps; log in
   ``<out>/train.log``; the latest model in ``<out>/latest/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from emotive.conditioning import Emotion
from emotive.conditioning.encoder import ConditionDropout, emotion_features
from emotive.generators.speech.codec import SpeechCodec, load_codec
from emotive.generators.speech.lm import CodecLM, LMConfig, frames_from_timings, tiny_lm_config


@dataclass
class LMTrainConfig:
    tiny: bool = False
    frames_per_batch: int = 2400   # ~48 s of audio per step
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 0.01
    max_steps: int = 100_000
    eval_every: int = 200
    ckpt_every_s: float = 240.0
    seed: int = 0
    code_drop: float | None = None   # set/override the LM's code_drop (also when resuming); None = keep
    init_from: str | None = None     # start a fresh run from these LM weights (a save_pretrained folder)
    eval_clips: int = 240            # held-out loss on this many test clips (a fixed, spread-out subset)


def _codec_hash(codec: SpeechCodec) -> str:
    """Hash of what determines the codes (encoder + codebooks); decoder fine-tuning keeps the token cache valid."""
    h = hashlib.sha1()
    if hasattr(codec, "codebooks"):  # WORLD codec: config + codebooks + normalisation decide the codes
        h.update(json.dumps(asdict(codec.config), sort_keys=True).encode())
        for a in (codec.codebooks, codec.env_mean, codec.env_std):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:12]
    sd = codec.model.state_dict() if hasattr(codec, "model") else codec.state_dict()
    for k, v in sorted(sd.items()):
        if k.startswith("decoder."):
            continue
        h.update(k.encode())
        h.update(v.detach().cpu().numpy().tobytes()[:4096])
    return h.hexdigest()[:12]


def tokenize_corpus(rows: list[dict], codec: SpeechCodec, cache: Path, progress: bool = True) -> list[dict]:
    """Rows -> list of {"id", "split", "voice", "emotion" [12], "phones", "durs", "codes" int16 [K, T]} (cached)."""
    from tqdm import tqdm

    from emotive.generators.speech.codec_train import read_audio

    key = _codec_hash(codec)
    done: dict[str, dict] = {}
    if cache.exists():
        blob = torch.load(cache, weights_only=False)
        if blob.get("codec") == key:
            done = {d["id"]: d for d in blob["items"]}
    items = []
    todo = [r for r in rows if r["id"] not in done]
    for r in tqdm(todo, disable=not progress, desc="tokenise", mininterval=10):
        x = read_audio(r["wav"], codec.sample_rate)
        codes = codec.encode(x)[0].to(torch.int16)
        ids, durs = frames_from_timings(r["phones"], codes.shape[-1], codec.frame_rate)
        done[r["id"]] = {"id": r["id"], "split": r["split"], "voice": r["speaker"],
                         "emotion": emotion_features([Emotion.from_dict(r["emotion"])])[0],
                         "phones": ids, "durs": durs, "codes": codes}
    items = [done[r["id"]] for r in rows if r["id"] in done]
    if todo:
        tmp = cache.with_suffix(".tmp")
        torch.save({"codec": key, "items": list(done.values())}, tmp)
        os.replace(tmp, cache)
    return items


def make_batches(items: list[dict], frames_per_batch: int, rng: np.random.Generator) -> list[list[int]]:
    """Length-bucketed batches with at most ``frames_per_batch`` padded frames each, shuffled."""
    order = np.argsort([it["codes"].shape[-1] + rng.uniform(0, 20) for it in items])
    batches, cur, cur_max = [], [], 0
    for i in order:
        n = items[i]["codes"].shape[-1]
        if cur and max(cur_max, n) * (len(cur) + 1) > frames_per_batch:
            batches.append(cur)
            cur, cur_max = [], 0
        cur.append(int(i))
        cur_max = max(cur_max, n)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def collate(items: list[dict], idx: list[int], model: CodecLM) -> dict:
    sel = [items[i] for i in idx]
    k = model.config.num_codebooks
    t = max(it["codes"].shape[-1] for it in sel)
    p = max(len(it["phones"]) for it in sel)
    codes = torch.zeros(len(sel), k, t, dtype=torch.long)
    phones = torch.zeros(len(sel), p, dtype=torch.long)
    durs = torch.zeros(len(sel), p, dtype=torch.long)
    for j, it in enumerate(sel):
        c = it["codes"][:k].long()
        codes[j, :, : c.shape[-1]] = c
        phones[j, : len(it["phones"])] = torch.tensor(it["phones"])
        durs[j, : len(it["durs"])] = torch.tensor(it["durs"])
    return {
        "phones": phones, "durs": durs, "codes": codes,
        "lengths": torch.tensor([it["codes"].shape[-1] for it in sel]),
        "voice": model.voice_ids([it["voice"] for it in sel]),
        "emotion": torch.stack([it["emotion"] for it in sel]),
    }


def _eval_subset(items: list[dict], n: int) -> list[dict]:
    """At most ``n`` clips spread evenly over the id-sorted list (deterministic; the held-out loss stays cheap)."""
    items = sorted(items, key=lambda it: it["id"])
    if n <= 0 or len(items) <= n:
        return items
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def _log(out: Path, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(out / "train.log", "a") as f:
        f.write(line + "\n")


@torch.no_grad()
def evaluate_loss(model: CodecLM, items: list[dict], frames_per_batch: int) -> dict:
    model.eval()
    rng = np.random.default_rng(0)
    tot = {"ce": 0.0, "dur": 0.0, "acc0": 0.0}
    n = 0
    # held-out loss in the mode generation uses: no token feedback once most training frames had none
    history = model.config.code_drop < 0.5
    for b in make_batches(items, frames_per_batch, rng):
        r = model(**collate(items, b, model), history=history)
        for key in tot:
            tot[key] += float(r[key]) * len(b)
        n += len(b)
    return {key: v / max(n, 1) for key, v in tot.items()}


def train_lm(rows: list[dict] | Callable[[], list[dict]], codec_dir: str | Path | None, out: str | Path,
             cfg: LMTrainConfig | None = None, max_minutes: float | None = None, progress: bool = True) -> dict:
    """Tokenise (cached) and train/resume the codec LM. Returns the last held-out evaluation.

    ``rows`` may be a callable returning the manifest rows: it is called again at every epoch start, so
    rows a corpus build adds while training runs are tokenised and used from the next epoch on.
    """
    rows_fn = rows if callable(rows) else None
    rows = rows_fn() if rows_fn else rows
    from accelerate import Accelerator
    from tqdm import tqdm

    cfg = cfg or LMTrainConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    codec = load_codec(codec_dir)
    items = tokenize_corpus(rows, codec, out / "tokens.pt", progress)
    train_items = [it for it in items if it["split"] == "train"]
    test_items = _eval_subset([it for it in items if it["split"] == "test"], cfg.eval_clips)
    if not train_items:
        raise RuntimeError("No training rows")
    ckpt_path = out / "ckpt.pt"
    state = torch.load(ckpt_path, map_location="cpu", weights_only=False) if ckpt_path.exists() else None
    init = None
    if state is not None:
        lm_cfg = LMConfig(**state["lm_config"])
    elif cfg.init_from:
        init = CodecLM.from_pretrained(cfg.init_from)
        lm_cfg = init.config
        if (lm_cfg.num_codebooks, lm_cfg.codebook_size) != (codec.num_codebooks, codec.codebook_size):
            raise ValueError(f"--init LM at {cfg.init_from} does not fit this codec's streams")
    elif cfg.tiny:
        lm_cfg = tiny_lm_config(codec.num_codebooks, codec.codebook_size)
    else:
        lm_cfg = LMConfig(num_codebooks=codec.num_codebooks, codebook_size=codec.codebook_size,
                          frame_rate=codec.frame_rate)
    history_before = lm_cfg.code_drop < 0.5
    if cfg.code_drop is not None:
        lm_cfg.code_drop = float(cfg.code_drop)
    if state is not None and (lm_cfg.code_drop < 0.5) != history_before:
        state["best_ce"] = float("inf")      # the held-out loss now measures the other generation mode
    torch.manual_seed(cfg.seed)
    model = CodecLM(lm_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    drop = ConditionDropout(lm_cfg.cond_drop, seed=cfg.seed + 1)
    step, epoch = 0, 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        drop.load_state_dict(state["drop"])
        step, epoch = int(state["step"]), int(state["epoch"])
        for grp in opt.param_groups:      # a resumed stage may run at another learning rate (step decay)
            grp["lr"] = grp["initial_lr"] = cfg.lr
    elif init is not None:
        model.load_state_dict(init.state_dict())
    acc = Accelerator(cpu=True)
    model, opt = acc.prepare(model, opt)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + step + 1) / cfg.warmup))
    n_params = acc.unwrap_model(model).num_parameters()
    _log(out, f"start step {step}: {len(train_items)} train / {len(test_items)} test clips, "
              f"{sum(it['codes'].shape[-1] for it in train_items)} train frames, {n_params / 1e6:.2f}M params")

    pos = {"batch_in_epoch": 0, "best_ce": float(state.get("best_ce", float("inf"))) if state is not None else float("inf")}

    def save() -> None:
        m = acc.unwrap_model(model)
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": m.state_dict(), "opt": opt.state_dict(), "drop": drop.state_dict(), "step": step,
                    "epoch": epoch, "batch_in_epoch": pos["batch_in_epoch"], "best_ce": pos["best_ce"], "lm_config": asdict(m.config), "cfg": asdict(cfg)}, tmp)
        os.replace(tmp, ckpt_path)
        m.save_pretrained(out / "latest")
        (out / "latest" / "train_state.json").write_text(json.dumps({"step": step, "epoch": epoch}))

    t0 = t_ck = time.time()
    last: dict = {"step": step}
    bar = tqdm(total=cfg.max_steps, initial=step, disable=not progress, desc="lm", mininterval=10)
    run = None
    done = False
    while not done:
        if rows_fn is not None and epoch > 0:
            fresh = rows_fn()
            if len(fresh) != len(rows):
                rows = fresh
                items = tokenize_corpus(rows, codec, out / "tokens.pt", progress)
                train_items = [it for it in items if it["split"] == "train"]
                test_items = _eval_subset([it for it in items if it["split"] == "test"], cfg.eval_clips)
                _log(out, f"reloaded corpus: {len(train_items)} train / {len(test_items)} test clips")
        rng = np.random.default_rng(cfg.seed + epoch)
        batches = make_batches(train_items, cfg.frames_per_batch, rng)
        skip = state["batch_in_epoch"] if state is not None and "batch_in_epoch" in state else 0
        state = None
        for bi, b in enumerate(batches):
            if bi < skip:
                continue
            model.train()
            batch = collate(train_items, b, acc.unwrap_model(model))
            r = model(**batch, drop=drop.mask(len(b)))
            opt.zero_grad(set_to_none=True)
            acc.backward(r["loss"])
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            pos["batch_in_epoch"] = bi + 1
            bar.update(1)
            lv = float(r["ce"].detach())
            run = lv if run is None else 0.95 * run + 0.05 * lv
            if step % 20 == 0:
                _log(out, f"step {step} ep {epoch} ce {run:.3f} dur {float(r['dur'].detach()):.3f} acc0 {float(r['acc0']):.3f}")
            if step % cfg.eval_every == 0 and test_items:
                last = {"step": step, **evaluate_loss(acc.unwrap_model(model), test_items, cfg.frames_per_batch)}
                _log(out, "eval " + json.dumps(last))
                with open(out / "eval.jsonl", "a") as f:
                    f.write(json.dumps(last) + "\n")
                if last["ce"] < pos["best_ce"]:
                    # early stopping by held-out loss: ``<out>/best`` is what gets shipped
                    pos["best_ce"] = last["ce"]
                    acc.unwrap_model(model).save_pretrained(out / "best")
                    (out / "best" / "train_state.json").write_text(json.dumps(last))
            if time.time() - t_ck > cfg.ckpt_every_s:
                save()
                t_ck = time.time()
            if step >= cfg.max_steps or (max_minutes is not None and (time.time() - t0) / 60 > max_minutes):
                done = True
                break
        else:
            epoch += 1
            pos["batch_in_epoch"] = 0
    if "ce" not in last and test_items:
        last = {"step": step, **evaluate_loss(acc.unwrap_model(model), test_items, cfg.frames_per_batch)}
        _log(out, "eval " + json.dumps(last))
    save()
    bar.close()
    _log(out, f"stopped at step {step}")
    last["step"] = step
    return last
