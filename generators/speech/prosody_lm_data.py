"""Training data of the prosody LM, made here without the decoder (``emotive train speech-lm`` step 1).

For each corpus sentence (``sentences.load_sentences``, its fixed train/val/test split) and a few voices drawn per
sentence, Kokoro's front runs once; then for several emotions drawn per utterance the project's rules act exactly
as the ``direct`` engine's do (``ProsodyParams.from_emotion(e).perturbed(rng)`` -> duration factors -> rounded
frames -> Kokoro's prosody graph -> ``kokoro_f0`` edits -> ``kokoro_gain``) and the result is quantised by the
prosody codec. No audio is rendered (the decoder is > 95 % of Kokoro's cost): about 0.1 s per utterance.

Stored per (sentence, voice) in shards ``<out>/data/<split>-<i>.pt`` (resumable: finished shards are kept):
    ids int16 [n-2] Kokoro token ids; d float16 [n, 512] front states (the style half of Kokoro's 640 is the
    voice's own [128:] and is not stored); dur float32 [n] Kokoro's predicted durations (frames);
    style float32 [256]; voice str; text str; nf0 float32 / nN float16 [2T'] Kokoro's own neutral F0 and N at
    its predicted durations (``prosody_lm.neutral_frames``; the ``neutral_ref`` LM's reference); and per emotion:
    feats float32 [12], codes int16 [4, 2T].
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from emotive.conditioning import LABELS, Emotion
from emotive.conditioning.encoder import emotion_features
from emotive.generators.speech.prosody import (
    KOKORO_PAUSES,
    ProsodyParams,
    kokoro_duration_factors,
    kokoro_f0,
    kokoro_gain,
    limit_peaks,
)
from emotive.generators.speech.prosody_codec import ProsodyCodec, ProsodyFeatures, measure_f0, rms
from emotive.generators.speech.prosody_lm import kokoro_neutral

TRAIN_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo",
                "0.5 jf_alpha + 0.5 jf_tebukuro", "nova", "0.5 jf_gongitsune + 0.5 jf_tebukuro")
"""The voices of the shipped LM's training data: the eight named when it was trained (the two tebukuro blends,
then called alma and wren, are written out; the style vectors are the same)."""
"""The named Kokoro voices (blends included: the LM sees the style vector, so blends are new points in voice space)."""
DATA_VERSION = 1
TARGETS = ("params", "audio")
"""``params``: the F0 and level the rules command (parameter space, no audio). ``audio``: the same utterance rendered
by Kokoro's decoder and re-analysed (pYIN F0 of the audio on voiced frames, the level of the peak-limited output),
i.e. what the decoder actually realised; measured ~2.5 s of one core per utterance instead of 0.035 s."""


@dataclass(frozen=True)
class DataConfig:
    """How many utterances and how they vary (recorded in ``<out>/data/config.json``)."""

    voices_per_sentence: int = 2
    emotions_per_voice: int = 3
    shard_sentences: int = 100
    perturb_scale: float = 0.15      # ProsodyParams.perturbed: the corpus's per-utterance variation
    max_sentences: int | None = None  # per split (tests / smoke runs)
    targets: str = "params"           # TARGETS: where the F0 and level targets come from
    seed: int = 0
    version: int = DATA_VERSION


def sample_emotion(rng: np.random.Generator) -> Emotion:
    """The request mix the LM learns: 1/10 a label at intensity 0 (plain voice), 6/10 one label at intensity U(0.3, 1),
    2/10 one label at full intensity, 1/10 a VAD point."""
    u = rng.random()
    if u < 0.1:
        return Emotion.from_label(LABELS[int(rng.integers(len(LABELS)))], 1.0).with_intensity(0.0)
    if u < 0.9:
        lab = LABELS[int(rng.integers(len(LABELS)))]
        return Emotion.from_label(lab, 1.0 if u >= 0.7 else float(rng.uniform(0.3, 1.0)))
    v, a = rng.uniform(-0.9, 0.9, 2)
    return Emotion.from_vad(float(v), float(a), float(rng.uniform(-0.6, 0.6)))


def utterance_codes(codec: ProsodyCodec, front, style: np.ndarray, phonemes: str, params: ProsodyParams,
                    rng: np.random.Generator, targets: str = "params") -> np.ndarray:
    """The direct engine's prosody for one utterance, quantised: codes int16 [4, 2T] (``targets``: see ``TARGETS``;
    durations and Kokoro's energy are the commanded ones either way: the durations are the alignment, and Kokoro's
    N is not observable in audio)."""
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {TARGETS}, not {targets!r}")
    frames = np.maximum(1, np.rint(front.durations * kokoro_duration_factors(phonemes, params))).astype(np.int64)
    f0, energy = codec.kokoro.prosody(front, frames, style)
    f0 = kokoro_f0(f0, params, rng)
    gain = np.float32(20 * np.log10(kokoro_gain(params)))
    if targets == "audio":
        raw = codec.kokoro.decode(front, frames, f0, energy, style)
        wav = limit_peaks(raw * kokoro_gain(params))
        gain = np.float32(20 * np.log10(rms(wav) / max(rms(raw), 1e-8)))
        f0 = measure_f0(wav, len(f0), unvoiced=f0)
    return codec.quantize(ProsodyFeatures(frames, f0, energy, gain)).astype(np.int16)


def build_data(out: str | Path, cfg: DataConfig, codec: ProsodyCodec | None = None, splits=("train", "val"),
               progress: bool = True, worker: int = 0, workers: int = 1) -> Path:
    """Write the shards (skipping finished ones; ``worker`` of ``workers`` processes takes every workers-th shard)
    -> the data folder. Shards are deterministic (seeded per sentence), so any split of the work gives the same data."""
    from tqdm import tqdm

    from emotive.generators.speech.frontend import join_words, kokoro_words
    from emotive.generators.speech.sentences import load_sentences

    codec = codec or ProsodyCodec()
    folder = Path(out) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"data": {k: v for k, v in asdict(cfg).items() if k != "max_sentences"},  # a subset: same shards
            "codec": codec.config.to_dict()}
    mfile = folder / "config.json"
    if mfile.is_file() and json.loads(mfile.read_text()) != meta:
        raise ValueError(f"{folder} holds data of another configuration; use another --out")
    mfile.write_text(json.dumps(meta, indent=1))
    rows = load_sentences()
    keep = codec.kokoro.vocab.__contains__
    for split in splits:
        sents = [r for r in rows if r["split"] == split][: cfg.max_sentences]
        shards = [sents[i: i + cfg.shard_sentences] for i in range(0, len(sents), cfg.shard_sentences)]
        for si, shard in enumerate(tqdm(shards, desc=f"data {split}", disable=not progress)):
            path = folder / f"{split}-{si:03d}.pt"
            if path.is_file() or si % workers != worker:
                continue
            items = []
            for r in shard:
                seed = int(hashlib.sha1(f"{cfg.seed}|{r['id']}".encode()).hexdigest()[:8], 16)
                rng = np.random.default_rng(seed)
                words = [w for w in kokoro_words(r["text"]) if w.phonemes or w.text in KOKORO_PAUSES]
                phon, _ = join_words(words, keep)
                if not phon or len(phon) > 500:
                    continue
                for vi in rng.choice(len(TRAIN_VOICES), cfg.voices_per_sentence, replace=False):
                    voice = TRAIN_VOICES[int(vi)]
                    front, style = codec.front(phon, voice)
                    takes = []
                    for _ in range(cfg.emotions_per_voice):
                        e = sample_emotion(rng)
                        params = ProsodyParams.from_emotion(e)
                        if e.intensity > 0:
                            params = params.perturbed(rng, cfg.perturb_scale)
                        takes.append({"feats": emotion_features([e])[0],
                                      "codes": torch.from_numpy(utterance_codes(codec, front, style, phon, params, rng,
                                                                               cfg.targets))})
                    nf0, n_n = kokoro_neutral(codec.kokoro, front, style)
                    items.append({"ids": torch.from_numpy(codec.kokoro.token_ids(phon).astype(np.int16)),
                                  "nf0": torch.from_numpy(nf0.astype(np.float32)),
                                  "nN": torch.from_numpy(n_n.astype(np.float16)),
                                  "d": torch.from_numpy(front.d[:, :512].astype(np.float16)),
                                  "dur": torch.from_numpy(front.durations.astype(np.float32)),
                                  "style": torch.from_numpy(style), "voice": voice, "text": r["text"],
                                  "takes": takes})
            tmp = path.with_suffix(".tmp")
            torch.save(items, tmp)
            tmp.replace(path)
    return folder


def load_data(folder: str | Path, split: str, cfg: DataConfig | None = None) -> list[dict]:
    """The (sentence, voice) items of one split (with ``cfg.max_sentences``: only that subset's shards)."""
    paths = sorted(Path(folder).glob(f"{split}-*.pt"))
    if cfg is not None and cfg.max_sentences is not None:
        paths = paths[: -(-cfg.max_sentences // cfg.shard_sentences)]
    items: list[dict] = []
    for p in paths:
        items += torch.load(p, weights_only=False)
    return items
