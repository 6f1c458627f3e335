"""The training recipe: corpus -> bar tokens -> VQ-VAE -> bar codes -> conditioned prior; chorales -> chord
HMM; -> ``save_pretrained``.

Stage 3 (:func:`train_harmony`, about 2 minutes) parses the Bach chorales, fits the chord model
on 90% of them and measures it on the rest; ``melody_from`` reuses the melody stages (VQ-VAE and
prior) of an existing model folder instead of training them again (about 30 minutes).

``emotive train music`` runs :func:`train` with the defaults below (the shipped
weights); ``--tiny`` runs the same code on a few corpus files with tiny models
(the smoke test). Both stages checkpoint to ``work_dir`` every few minutes and
resume from there. Randomness: one seed drives data order, augmentation and
initialisation; ``ConditionDropout`` has its own seeded generator.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from emotive.conditioning import EmotiveError
from emotive.conditioning.encoder import ConditionDropout, emotion_features
from emotive.evaluators.music.attributes import estimate_key, quality_statistics
from emotive.generators.music.attributes import (
    density_class,
    register_class,
    rewrite_mode,
    training_emotion,
)
from emotive.generators.music.data import DEFAULT_COLLECTIONS, Tune, load_corpus, split_tunes
from emotive.generators.music.harmony import (
    ChoraleSlots,
    HarmonyModel,
    accuracy,
    extraction_agreement,
    fit,
    load_chorales,
)
from emotive.generators.music.prior import NUM_DENSITY, NUM_MODES, NUM_REGISTER, CodePrior, PriorConfig
from emotive.generators.music.tokenizer import BarTokenizer, bars_to_grid, grid_to_bars, remi_token_accuracy
from emotive.generators.music.vqvae import BarVQVAE, VQVAEConfig


@dataclass
class TrainConfig:
    work_dir: str = "music-train"  # checkpoints, log, metrics
    data_dir: str | None = None  # parsed-corpus cache (default: work_dir)
    collections: tuple[str, ...] = DEFAULT_COLLECTIONS
    limit_files: int | None = None  # per collection (tiny mode)
    seed: int = 0
    held_out: float = 0.05  # fraction of pieces kept out of training (reconstruction is measured on them)
    vq_steps: int = 4000
    vq_batch: int = 128
    vq_lr: float = 1e-3
    prior_steps: int = 1600
    prior_batch: int = 24
    prior_lr: float = 5e-4
    window_bars: int = 8  # prior context: training windows and the sampling window (bars)
    transpose: int = 5  # VQ-VAE augmentation: random shift in [-transpose, +transpose] semitones
    checkpoint_every_s: float = 180.0
    harmony_alpha: float = 1.0  # add-alpha smoothing of the chord model's counts (0.1 / 0.5 / 1.0 measured: 1.0 best)
    harmony_held_out: float = 0.1  # fraction of chorales kept out of the chord model (its accuracy is measured on them)
    harmony_limit: int | None = None  # chorale files (tiny mode)
    melody_from: str | None = None  # reuse the VQ-VAE + prior of this model folder (skip stages 1 and 2)
    tiny: bool = False
    vqvae: VQVAEConfig = field(default_factory=VQVAEConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)

    @classmethod
    def tiny_preset(cls, work_dir: str, data_dir: str | None = None) -> TrainConfig:
        return cls(
            work_dir=work_dir,
            data_dir=data_dir,
            collections=("oneills1850",),
            limit_files=1,
            vq_steps=60,
            vq_batch=32,
            prior_steps=40,
            prior_batch=8,
            window_bars=8,
            harmony_limit=12,
            tiny=True,
            vqvae=VQVAEConfig.tiny(),
            prior=PriorConfig.tiny(),
        )


# ------------------------------------------------------------------ data views
@dataclass
class Piece:
    """One training piece (an original or its modal counterfactual) as tokens and per-bar statistics."""

    tokens: np.ndarray  # [bars, bar_len] REMI ids (miditok)
    grid: np.ndarray  # [bars, 16] step grid (the VQ-VAE's view of the same bars)
    mode: str
    onsets: np.ndarray  # [bars] onsets per bar
    pitch_sum: np.ndarray  # [bars]
    counterfactual: bool


def build_pieces(tunes: list[Tune], tok: BarTokenizer, counterfactuals: bool = True) -> list[Piece]:
    """Tokenise tunes; add each tune's major<->minor rewrite (valence counterfactual)."""
    from tqdm import tqdm

    out = []
    for t in tqdm(tunes, desc="tokenise", mininterval=5):
        versions = [(t.bars, t.mode, False)]
        if counterfactuals:
            other = "minor" if t.mode == "major" else "major"
            versions.append((rewrite_mode(t.bars, 0, other), other, True))
        for bars, _mode, cf in versions:
            mode = estimate_key(Tune("", "", "", bars).to_notelist()).mode if cf else t.mode
            if cf and mode != _mode:
                continue  # the rewrite did not flip the measured mode (ambiguous tune): not a counterfactual
            out.append(
                Piece(
                    tok.encode_bars(bars),
                    bars_to_grid(bars, tok.pitch_low, tok.pitch_high),
                    mode,
                    np.array([len(b) for b in bars], dtype=np.float32),
                    np.array([sum(p for _, p, _ in b) for b in bars], dtype=np.float32),
                    cf,
                )
            )
    return out


def transpose_grid(x: torch.Tensor, shift: torch.Tensor, tok: BarTokenizer) -> torch.Tensor:
    """Shift the pitches of each grid row ``[B, 16]`` by ``shift [B]`` semitones where the whole row stays in range."""
    lo, hi = 2, 2 + tok.pitch_high - tok.pitch_low
    is_p = x >= lo
    moved = x + shift.view(-1, 1) * is_p
    ok = ((moved >= lo) & (moved <= hi) | ~is_p).all(1)
    return torch.where(ok.view(-1, 1), moved, x)


def _lr(step: int, total: int, peak: float) -> float:
    warmup = min(200, max(1, total // 10))
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def _save(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def _log(work: Path, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "train.log", "a") as fh:
        fh.write(line + "\n")


# ------------------------------------------------------------------ stage 1: VQ-VAE
def train_vqvae(cfg: TrainConfig, train: list[Piece], test: list[Piece], tok: BarTokenizer) -> BarVQVAE:
    from tqdm import tqdm

    work = Path(cfg.work_dir)
    ck = work / "vqvae.pt"
    torch.manual_seed(cfg.seed)
    vcfg = cfg.vqvae
    vcfg.vocab_size = 2 + tok.pitch_high - tok.pitch_low + 1
    model = BarVQVAE(vcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.vq_lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    step = 0
    if ck.is_file():
        st = torch.load(ck, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        gen.set_state(st["gen"])
        step = st["step"]
        _log(work, f"vqvae: resumed at step {step}")
    bars = torch.from_numpy(np.concatenate([p.grid for p in train]))
    test_pieces = [p for p in test if not p.counterfactual]
    _log(work, f"vqvae: {len(bars)} training bars, {sum(len(p.grid) for p in test_pieces)} held-out bars, {sum(x.numel() for x in model.parameters())} params")
    last = time.time()
    bar = tqdm(total=cfg.vq_steps, initial=step, desc="vq-vae", mininterval=10)
    model.train()
    while step < cfg.vq_steps:
        idx = torch.randint(0, len(bars), (cfg.vq_batch,), generator=gen)
        shift = torch.randint(-cfg.transpose, cfg.transpose + 1, (cfg.vq_batch,), generator=gen)
        x = transpose_grid(bars[idx], shift, tok)
        for g in opt.param_groups:
            g["lr"] = _lr(step, cfg.vq_steps, cfg.vq_lr)
        out = model(x, generator=gen)
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        if step % 100 == 0 or step == cfg.vq_steps:
            acc = float((out["logits"].argmax(-1) == x).float().mean())
            used = int((model.quant.cluster_size > 0.5).sum())
            _log(work, f"vqvae step {step} loss {out['recon'].item():.4f} train_step_acc {acc:.4f} codes_used~{used}")
        if time.time() - last > cfg.checkpoint_every_s or step == cfg.vq_steps:
            _save(ck, {"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "step": step})
            last = time.time()
    bar.close()
    model.eval()
    ev = evaluate_vqvae(model, test_pieces, tok)
    _log(work, f"vqvae: held-out {json.dumps(ev)}")
    return model


@torch.no_grad()
def evaluate_vqvae(model: BarVQVAE, pieces: list, tok: BarTokenizer) -> dict[str, float]:
    """Reconstruction of held-out pieces (objects with ``.tokens`` REMI rows and ``.grid``).

    Returns REMI-token accuracy (reconstructed bars re-encoded with miditok and compared
    position by position over the original's non-PAD tokens, EOS included), step-grid
    accuracy, exact-bar rate, and the fraction of codebook entries these bars use.
    """
    model.eval()
    c = n = gc = gn = exact = bars = 0
    used = torch.zeros(model.config.codebook_size, dtype=torch.bool)
    for p in pieces:
        grid = torch.from_numpy(p.grid)
        codes = model.encode(grid)
        used[codes.reshape(-1)] = True
        rec = model.decode(codes)
        gc, gn = gc + int((rec == grid).sum()), gn + grid.numel()
        exact, bars = exact + int((rec == grid).all(1).sum()), bars + len(grid)
        rows = tok.encode_bars(grid_to_bars(rec.numpy(), tok.pitch_low))
        ci, ni = remi_token_accuracy(tok, p.tokens, rows)
        c, n = c + ci, n + ni
    return {
        "token_accuracy": c / max(1, n),
        "step_accuracy": gc / max(1, gn),
        "exact_bars": exact / max(1, bars),
        "codebook_usage": float(used.float().mean()),
        "bars": bars,
    }


# ------------------------------------------------------------------ stage 2: prior
@dataclass
class CodedPiece:
    codes: np.ndarray  # [bars, K]
    mode: int
    onsets: np.ndarray
    pitch_sum: np.ndarray


@torch.no_grad()
def encode_pieces(model: BarVQVAE, pieces: list[Piece]) -> list[CodedPiece]:
    out = []
    for p in pieces:
        codes = model.encode(torch.from_numpy(p.grid)).numpy()
        out.append(CodedPiece(codes, 0 if p.mode == "major" else 1, p.onsets, p.pitch_sum))
    return out


def sample_windows(pieces: list[CodedPiece], n: int, window: int, rng: np.random.Generator, k: int, bos: int):
    """A batch of training windows: sequences ``[n, 1 + window*K]`` (targets -100 past a short piece's end),
    total-bars ``[n]``, and the window's conditions (emotion features, mode, density, register)."""
    seq = np.full((n, 1 + window * k), -100, dtype=np.int64)
    seq[:, 0] = bos
    total = np.zeros(n, dtype=np.int64)
    modes, dens, regs, feats = [], [], [], []
    for i in range(n):
        p = pieces[int(rng.integers(len(pieces)))]
        nb = len(p.codes)
        start = 0 if (nb <= window or rng.random() < 0.4) else int(rng.integers(0, nb - window + 1))
        w = p.codes[start : start + window]
        seq[i, 1 : 1 + len(w) * k] = w.reshape(-1)
        total[i] = nb - start
        on = float(p.onsets[start : start + window].sum())
        per_bar = on / len(w)
        mean_pitch = float(p.pitch_sum[start : start + window].sum()) / max(1.0, on)
        mode = "major" if p.mode == 0 else "minor"
        modes.append(p.mode)
        dens.append(density_class(per_bar))
        regs.append(register_class(mean_pitch))
        feats.append(training_emotion(mode, per_bar, mean_pitch))
    return (
        torch.from_numpy(seq),
        torch.from_numpy(total),
        emotion_features(feats),
        torch.tensor(modes),
        torch.tensor(dens),
        torch.tensor(regs),
    )


def train_prior(cfg: TrainConfig, train: list[CodedPiece], test: list[CodedPiece]) -> CodePrior:
    from tqdm import tqdm

    work = Path(cfg.work_dir)
    ck = work / "prior.pt"
    torch.manual_seed(cfg.seed + 2)
    pcfg = cfg.prior
    pcfg.codebook_size, pcfg.codes_per_bar = cfg.vqvae.codebook_size, cfg.vqvae.codes_per_bar
    model = CodePrior(pcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.prior_lr, weight_decay=0.01)
    rng = np.random.default_rng(cfg.seed + 3)
    # CFG needs the all-null condition (joint dropout) and single faders without the others (independent dropout)
    drop = ConditionDropout(pcfg.cond_dropout, seed=cfg.seed + 4)
    drop_one = ConditionDropout(0.1, seed=cfg.seed + 5)
    step = 0
    if ck.is_file():
        st = torch.load(ck, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        rng.bit_generator.state = st["rng"]
        drop.load_state_dict(st["drop"])
        drop_one.load_state_dict(st["drop_one"])
        step = st["step"]
        _log(work, f"prior: resumed at step {step}")
    _log(work, f"prior: {len(train)} pieces, {sum(x.numel() for x in model.parameters())} params")
    k, bos = pcfg.codes_per_bar, pcfg.bos_id
    last = time.time()
    bar = tqdm(total=cfg.prior_steps, initial=step, desc="prior", mininterval=10)
    model.train()
    while step < cfg.prior_steps:
        seq, total, feats, mode, dens, reg = sample_windows(train, cfg.prior_batch, cfg.window_bars, rng, k, bos)
        b = len(seq)
        joint = drop.mask(b)
        mode = torch.where(joint | drop_one.mask(b), NUM_MODES, mode)
        dens = torch.where(joint | drop_one.mask(b), NUM_DENSITY, dens)
        reg = torch.where(joint | drop_one.mask(b), NUM_REGISTER, reg)
        cond = model.condition(feats, mode, dens, reg, drop_emotion=joint | drop_one.mask(b))
        inp = seq[:, :-1].clamp(min=0)  # -100 padding becomes code 0 in the input; its targets are ignored
        logits = model(inp, cond, total)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), seq[:, 1:].reshape(-1), ignore_index=-100)
        for g in opt.param_groups:
            g["lr"] = _lr(step, cfg.prior_steps, cfg.prior_lr)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        if step % 100 == 0 or step == cfg.prior_steps:
            _log(work, f"prior step {step} loss {loss.item():.4f}")
        if time.time() - last > cfg.checkpoint_every_s or step == cfg.prior_steps:
            _save(ck, {"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.bit_generator.state,
                       "drop": drop.state_dict(), "drop_one": drop_one.state_dict(), "step": step})
            last = time.time()
    bar.close()
    model.eval()
    if test:
        with torch.no_grad():
            seq, total, feats, mode, dens, reg = sample_windows(test, 64, cfg.window_bars, np.random.default_rng(0), k, bos)
            cond = model.condition(feats, mode, dens, reg)
            logits = model(seq[:, :-1].clamp(min=0), cond, total)
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), seq[:, 1:].reshape(-1), ignore_index=-100)
        _log(work, f"prior: held-out NLL {nll.item():.4f} nats/code")
    return model


# ------------------------------------------------------------------ stage 3: chord model
def _chorales(cfg: TrainConfig) -> list[ChoraleSlots]:
    import pickle

    cache = Path(cfg.data_dir or cfg.work_dir) / f"chorales_v1_{cfg.harmony_limit or 'all'}.pkl"
    if cache.is_file():
        with open(cache, "rb") as fh:
            return pickle.load(fh)
    data = load_chorales(cfg.harmony_limit)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(data, fh)
    tmp.replace(cache)
    return data


def role_statistics(chorales: list[ChoraleSlots]) -> dict[str, dict[str, float]]:
    """Mean quality statistics of the chorales' alto + tenor (the evaluator's accompaniment reference)
    and bass (its bass reference)."""
    from emotive.evaluators.music.attributes import NoteList

    out: dict[str, dict[str, float]] = {}
    for role, parts in (("accompaniment", (1, 2)), ("bass", (3,))):
        rows = [quality_statistics(NoteList.from_tuples([(o, d, p, 80) for i in parts for o, d, p in cs.voices[i]]))
                for cs in chorales]
        out[role] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} | {"pieces": len(rows)}
    return out


def train_harmony(cfg: TrainConfig) -> tuple[HarmonyModel, dict, dict[str, dict[str, float]]]:
    """Fit the chord HMM on the chorales (piece-level split); returns (model, metrics, per-role corpus stats)."""
    work = Path(cfg.work_dir)
    data = _chorales(cfg)
    if len(data) < 2:
        raise EmotiveError("too few chorales parsed from the corpus")
    rng = np.random.default_rng(cfg.seed)
    idx = rng.permutation(len(data))
    n_test = max(1, round(cfg.harmony_held_out * len(data)))
    test = [data[i] for i in idx[:n_test]]
    train = [data[i] for i in idx[n_test:]]
    model = fit(train, cfg.harmony_alpha)
    acc = accuracy(model, test)
    metrics = {
        "chorales": len(data),
        "chorales_major": sum(c.mode == "major" for c in data),
        "train_chorales": len(train),
        "held_out_chorales": len(test),
        "train_slots": int(sum(len(c.chords) for c in train)),
        "alpha": cfg.harmony_alpha,
        **{f"held_out_{k}": v for k, v in acc.items()},
        **{f"labels_vs_analyses_{k}": v for k, v in extraction_agreement(2 if cfg.tiny else None).items()},
    }
    _log(work, f"harmony: {json.dumps(metrics)}")
    return model, metrics, role_statistics(data)


# ------------------------------------------------------------------ the whole recipe
def corpus_statistics(tunes: list[Tune]) -> dict[str, float]:
    """Mean quality statistics of the corpus pieces (the evaluator's reference values)."""
    rows = [quality_statistics(t.to_notelist()) for t in tunes]
    keys = rows[0].keys()
    return {k: float(np.mean([r[k] for r in rows])) for k in keys} | {"pieces": len(rows)}


def train(cfg: TrainConfig, out_dir: str | Path, overwrite: bool = False) -> dict:
    """Run the stages and write a pretrained folder to ``out_dir``. Returns the metrics written to the model card."""
    from emotive.generators.music.pipeline import MusicPipeline

    torch.set_num_threads(1)
    if (Path(out_dir) / "model.safetensors").exists() and not overwrite:
        raise EmotiveError(f"'{out_dir}' already holds a model; pass --force to replace it.")
    work = Path(cfg.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    out = Path(out_dir)
    if cfg.melody_from:
        src = Path(cfg.melody_from)
        base = MusicPipeline.from_pretrained(src)
        vq, prior, tok = base.vqvae, base.prior, base.tokenizer
        metrics = dict(base.metrics)
        stats = dict(base.corpus_stats.get("melody", base.corpus_stats))
        held_text = (src / "heldout.json").read_text() if (src / "heldout.json").is_file() else None
        cfg.window_bars = base.window_bars
        metrics["melody_from"] = str(src)
        _log(work, f"melody stages reused from {src}")
    else:
        tunes = load_corpus(cfg.data_dir or work, cfg.collections, cfg.limit_files)
        if len(tunes) < 2:
            raise RuntimeError("too few tunes parsed from the corpus")
        tr, te = split_tunes(tunes, cfg.held_out, cfg.seed)
        tok = BarTokenizer()
        train_pieces = build_pieces(tr, tok)
        test_pieces = build_pieces(te, tok)
        _log(work, f"data: {len(tunes)} tunes ({len(tr)} train / {len(te)} held out), {len(train_pieces)} training pieces with counterfactuals")
        vq = train_vqvae(cfg, train_pieces, test_pieces, tok)
        ev = evaluate_vqvae(vq, [p for p in test_pieces if not p.counterfactual], tok)
        prior = train_prior(cfg, encode_pieces(vq, train_pieces), encode_pieces(vq, test_pieces))
        stats = corpus_statistics(tunes)
        metrics = {
            "tunes": len(tunes),
            "train_tunes": len(tr),
            "held_out_tunes": len(te),
            "training_pieces_with_counterfactuals": len(train_pieces),
            "training_bars": int(sum(len(p.tokens) for p in train_pieces)),
            "vq_steps": cfg.vq_steps,
            "prior_steps": cfg.prior_steps,
            "held_out_token_accuracy": ev["token_accuracy"],
            "held_out_step_accuracy": ev["step_accuracy"],
            "held_out_exact_bars": ev["exact_bars"],
            "held_out_codebook_usage": ev["codebook_usage"],
            "train_minutes": (time.time() - t0) / 60,
            "collections": list(cfg.collections),
        }
        # the held-out pieces travel with the model so that `emotive bench` measures reconstruction on them
        held_text = json.dumps({
            "note": "held-out pieces (never trained on): bars of [step, pitch, length] in the model key space",
            "tunes": [{"source": t.source, "title": t.title, "mode": t.mode, "bars": t.bars} for t in te]},
            separators=(",", ":"))
    harmony, hmetrics, role_stats = train_harmony(cfg)
    metrics["harmony"] = hmetrics
    all_stats = {"melody": stats, **role_stats}
    pipe = MusicPipeline(vq, prior, tok, window_bars=cfg.window_bars, corpus_stats=all_stats, metrics=metrics,
                         harmony=harmony)
    pipe.save_pretrained(out_dir, overwrite=overwrite)
    if held_text is not None:
        (out / "heldout.json").write_text(held_text)
    (out / "corpus_stats.json").write_text(json.dumps(all_stats, indent=2))
    write_model_card(out, cfg, metrics, all_stats)
    (work / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _log(work, f"done: {json.dumps(metrics)}")
    return metrics


def write_model_card(out: Path, cfg: TrainConfig, metrics: dict, stats: dict) -> None:
    """MODEL_CARD.md with the data, the command, the steps and the training-time metrics of every stage."""
    h = metrics["harmony"]
    fmt = lambda d: ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items())  # noqa: E731
    melody_cmd = (f"carried over from `{metrics['melody_from']}` with `--melody-from`; they come from a full run of this "
                  f"command ({metrics.get('train_minutes', float('nan')):.1f} min; the VQ-VAE and prior figures below are "
                  "from that run)" if metrics.get("melody_from") else "trained by this command")
    lines = [
        f"# {out.name}: emotion-targeted music (melody VQ-VAE + prior, chorale chord HMM, arrangement)",
        "",
        "## What it is",
        "- Melody: a bar VQ-VAE (a bar's 16-step grid -> 8 codes from a 256-entry codebook) and a 3-layer causal "
        "transformer prior over bar codes conditioned on the emotion + mode, density and register classes "
        "(classifier-free guidance). Phrases of 4 bars follow a plan (AABA or ABAC for 16 bars); a varied repeat "
        "reuses its model phrase's first three bars of codes and samples a new fourth bar.",
        f"- Harmony: a hidden Markov model over the 36 triads (12 roots x major/minor/diminished, key-normalised), "
        f"{h['train_slots']} half-bar slots of {h['train_chorales']} Bach chorales; tables (init, transitions, melody "
        "pitch-class emissions, cadence chords at fermatas) per mode, add-alpha smoothed. Generation: Viterbi over the "
        "diatonic chords (+ V/V in major; harmonic minor in minor), a valence bias toward major-quality chords, a bonus "
        "per chord change (the chorale transitions alone hold the tonic too long for folk-like tunes), strong-beat "
        "melody notes weighted x6, the learned cadence chords at phrase ends, V -> I into the last bar; if the full "
        "score no longer reads in the key, harmonised again with a stronger pull toward the mode's chord quality.",
        "- Arrangement (rules, `generators/music/arrangement.py`): texture by emotion (sustained / broken / alberti / "
        "driving) with a rhythm per phrase position, seventh chords in the lyrical textures, voicings under the melody, "
        "a bass on roots, fifths, thirds and approach notes, drums only in the folk and rock ensembles, phrase "
        "dynamics, named General MIDI tracks.",
        "",
        "## Data",
        f"- Melody: music21 corpus collections {', '.join(metrics.get('collections', cfg.collections))}: "
        f"{metrics.get('tunes')} melodies ({metrics.get('train_tunes')} train / {metrics.get('held_out_tunes')} held out, "
        "piece-level split), 4/4, 2/2 and 2/4, first part (Bach: soprano), sixteenth grid, tonic normalised to C, "
        "each with its major<->minor rewrite (valence counterfactual).",
        f"- Harmony: {h['chorales']} Bach chorales in 4/4 with four voices ({h['chorales_major']} major), chords read "
        f"from all four voices per half bar, soprano as the melody; {h['train_chorales']} train / "
        f"{h['held_out_chorales']} held out (piece-level split, seed {cfg.seed}).",
        "- Essen folk songs (non-commercial licence) are not used.",
        "",
        "## Command",
        "`emotive train music --out <folder> --work <work folder>` reproduces every stage (one CPU thread, about 35 "
        "minutes); `--melody-from <model folder>` reuses that folder's melody stages and retrains the chord model "
        f"(about 2 minutes). The melody weights here were {melody_cmd}.",
        "",
        "## Training",
        f"- VQ-VAE: {metrics.get('vq_steps')} steps, batch {cfg.vq_batch} bars, AdamW lr {cfg.vq_lr}, cosine; "
        f"config {json.dumps(cfg.vqvae.to_dict()) if not metrics.get('melody_from') else 'see config.json'}",
        f"- prior: {metrics.get('prior_steps')} steps, batch {cfg.prior_batch} windows of {cfg.window_bars} bars, "
        f"AdamW lr {cfg.prior_lr}",
        f"- chord HMM: counts with add-{h['alpha']} smoothing (no iterative training).",
        "",
        "## Training-time metrics (held-out pieces)",
        f"- melody VQ-VAE: REMI token reconstruction accuracy {metrics.get('held_out_token_accuracy', float('nan')):.4f}; "
        f"step accuracy {metrics.get('held_out_step_accuracy', float('nan')):.4f}; codebook usage "
        f"{metrics.get('held_out_codebook_usage', float('nan')):.3f}",
        f"- chord HMM on {h['held_out_chorales']} held-out chorales ({h['held_out_slots']} half-bar slots), chords "
        f"decoded from the soprano alone (all 36 triads allowed) vs the chords of the four voices: exact chord "
        f"{h['held_out_chord_accuracy']:.3f}, root {h['held_out_root_accuracy']:.3f}; baselines: always the "
        f"mode's commonest chord {h['held_out_tonic_baseline_accuracy']:.3f}, emissions without transitions "
        f"{h['held_out_emission_only_accuracy']:.3f}.",
        f"- training labels: on the Riemenschneider chorales 1-20 with music21's Roman-numeral analyses, the chord read "
        f"from the four voices of a beat names the analysts' chord on {h['labels_vs_analyses_chord_agreement']:.3f} "
        f"of {h['labels_vs_analyses_beats']} beats (root {h['labels_vs_analyses_root_agreement']:.3f}).",
        "",
        "## Corpus reference statistics (the evaluator compares each track with these)",
        *[f"- {role}: {fmt(v)}" for role, v in stats.items()],
        "",
        "## Licences",
        "Code: the project's licence. Training data: public-domain music (18th-19th century; J. S. Bach's chorales) in "
        "music21's BSD-distributed corpus (see NOTICE.md, section Music).",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines))
