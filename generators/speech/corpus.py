"""The emotional speech corpus: sentences x voices x emotions through the prosody engine.

``build_corpus(out_dir, size)`` writes ``wavs/<speaker>/<id>.wav`` (16 kHz mono
PCM-16) and ``manifest.jsonl`` with one row per utterance::

    {"id", "wav" (relative to the manifest), "sr", "text", "phonemes" (ARPAbet, frontend),
     "phones": [{"phone", "start", "end"}] (engine timings warped by the prosody time map),
     "speaker", "emotion": Emotion.to_dict(), "prosody": ProsodyParams.to_dict(), "seed", "split",
     "sentence_id", "engine", "duration"}

Deterministic for a seed (every utterance has its own seed derived from the
corpus seed, speaker, sentence and slot) — except the neutral source audio of Piper's joe: VITS samples
its duration and prior noise inside the ONNX graph without a seed, so two builds render joe's sentences
differently (same words, rules and seeds; measured max sample difference ~1.2 on one sentence) —, resumable (finished rows are kept in
``manifest.partial.jsonl``; a rerun skips them), parallel (``workers``
processes, one voice engine each), with a progress bar.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotive.conditioning import LABELS, Emotion, EmotiveError
from emotive.generators.speech.frontend import phonemize
from emotive.generators.speech.prosody import ProsodyParams, WorldFeatures, analyze, apply_prosody
from emotive.generators.speech.sentences import load_sentences
from emotive.generators.speech.voices import CORPUS_SR, SPEAKERS, load_voice, render

MANIFEST = "manifest.jsonl"
PARTIAL = "manifest.partial.jsonl"
RULE_VARIATION = 0.12  # per-utterance spread of every rule delta (log-normal scale factor)
TARGET_RMS_DB = -26.0  # active-speech level of every source before the prosody rules (headroom for +6 dB)


@dataclass(frozen=True)
class CorpusSize:
    """Per speaker: sentences per label in each split, plus random-VAD utterances (train split)."""

    speakers: tuple[str, ...]
    per_label: dict
    vad_points: int
    labels: tuple[str, ...] = LABELS


SIZES: dict[str, CorpusSize] = {
    # seconds of audio, for tests: two fast flite voices
    "tiny": CorpusSize(("rms", "awb"), {"train": 1, "val": 0, "test": 1}, 0, ("neutral", "angry", "sad")),
    # ~1 h: 6 x 8 x 25 + 6 x 30 = 1,380 utterances
    "small": CorpusSize(tuple(SPEAKERS), {"train": 18, "val": 2, "test": 5}, 30),
    # >= 8 h: 6 x 8 x 195 + 6 x 600 = 12,960 utterances
    "full": CorpusSize(tuple(SPEAKERS), {"train": 150, "val": 15, "test": 30}, 600),
}


def _seed(*parts: object) -> int:
    return int(hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def plan(size: str | CorpusSize, seed: int = 0, sentences: list[dict] | None = None) -> list[dict]:
    """The utterance list (no audio): ``[{"id", "speaker", "sentence", "emotion", "seed", "split"}]``.

    Every speaker gets its own shuffle of each split's sentences, so sentence and
    emotion are not confounded; labels take intensities in [0.5, 1] (neutral: 1);
    random VAD points are uniform in the valence-arousal square (|v|,|a| <= 0.9).
    """
    cfg = SIZES[size] if isinstance(size, str) else size
    rows = sentences if sentences is not None else load_sentences()
    by_split = {s: [r for r in rows if r["split"] == s] for s in ("train", "val", "test")}
    items: list[dict] = []
    for spk in cfg.speakers:
        for split, n in cfg.per_label.items():
            pool = list(by_split[split])
            if not pool or n == 0:
                continue
            order = np.random.default_rng(_seed(seed, spk, split)).permutation(len(pool))
            k = 0
            for lab in cfg.labels:
                for j in range(n):
                    sent = pool[order[k % len(pool)]]
                    k += 1
                    s = _seed(seed, spk, sent["id"], lab, j)
                    r = np.random.default_rng(s)
                    inten = 1.0 if lab == "neutral" else round(float(r.uniform(0.5, 1.0)), 3)
                    e = Emotion.from_label(lab, inten)
                    items.append({"id": f"{spk}_{sent['id']}_{lab[:3]}{j}", "speaker": spk, "sentence": sent,
                                  "emotion": e, "seed": s, "split": split})
        pool = by_split["train"]
        order = np.random.default_rng(_seed(seed, spk, "vad")).permutation(len(pool))
        for j in range(cfg.vad_points):
            sent = pool[order[j % len(pool)]]
            s = _seed(seed, spk, sent["id"], "vad", j)
            r = np.random.default_rng(s)
            v, a = (round(float(x), 3) for x in r.uniform(-0.9, 0.9, 2))
            e = Emotion.from_vad(v, a)
            items.append({"id": f"{spk}_{sent['id']}_vad{j}", "speaker": spk, "sentence": sent, "emotion": e,
                          "seed": s, "split": "train"})
    return items


def _normalise(x: np.ndarray, phones: list[dict], sr: int) -> np.ndarray:
    """Scale to ``TARGET_RMS_DB`` over non-pause phones."""
    mask = np.zeros(len(x), dtype=bool)
    for p in phones:
        if p["phone"] != "pau":
            mask[int(p["start"] * sr) : int(p["end"] * sr)] = True
    act = x[mask] if mask.sum() > sr * 0.1 else x
    rms = float(np.sqrt(np.mean(act.astype(np.float64) ** 2))) + 1e-9
    return (x * (10 ** (TARGET_RMS_DB / 20) / rms)).astype(np.float32)


_VOICES: dict = {}


def _voice(spk: str):
    if spk not in _VOICES:
        _VOICES[spk] = load_voice(spk)
    return _VOICES[spk]


def source_analysis(source_audio: np.ndarray, phones: list[dict], sr: int = CORPUS_SR) -> WorldFeatures:
    """WORLD analysis of a normalised neutral rendering; pass it to :func:`make_utterance` as ``world``
    when one rendering gets several emotions (same output, the analysis is done once)."""
    return analyze(_normalise(source_audio, phones, sr), sr)


def make_utterance(
    item: dict, source_audio: np.ndarray, phones: list[dict], sr: int = CORPUS_SR, world: WorldFeatures | None = None
) -> tuple[np.ndarray, dict]:
    """Apply the item's emotion (with per-utterance rule variation) to a neutral rendering.

    ``world``: :func:`source_analysis` of the same rendering, if already computed.
    Returns the waveform [T] and the manifest fields that depend on it.
    """
    rng = np.random.default_rng(item["seed"])
    e: Emotion = item["emotion"]
    params = ProsodyParams.from_emotion(e).perturbed(rng, RULE_VARIATION) if e.intensity > 0 else ProsodyParams()
    x = _normalise(source_audio, phones, sr)
    pauses = [(p["start"], p["end"]) for p in phones if p["phone"] == "pau"]
    y, warp = apply_prosody(x, sr, params, rng, pauses_s=pauses, analysis_sr=None, resynthesize_identity=True,
                            world=world)
    dur = len(y) / sr
    bounds = warp([p["start"] for p in phones] + [phones[-1]["end"]])
    new_phones = []
    for i, p in enumerate(phones):
        s, t = float(bounds[i]), float(min(bounds[i + 1], dur))
        if t > s:
            new_phones.append({"phone": p["phone"], "start": round(s, 4), "end": round(t, 4)})
    if new_phones:
        new_phones[-1]["end"] = round(dur, 4)
    return y, {"phones": new_phones, "prosody": params.to_dict(), "duration": round(dur, 4)}


def _work(chunk: list[dict], out_dir: str) -> list[dict]:
    import soundfile as sf

    spk = chunk[0]["speaker"]
    voice = _voice(spk)
    # a sentence can occur several times per speaker (different emotions): render and analyse it once
    texts = list(dict.fromkeys(it["sentence"]["text"] for it in chunk))
    rendered = dict(zip(texts, render(spk, texts, CORPUS_SR, voice=voice)))
    worlds = {t: source_analysis(r.audio, r.phones, CORPUS_SR) for t, r in rendered.items()
              if sum(it["sentence"]["text"] == t for it in chunk) > 1}
    rows = []
    for it in chunk:
        r = rendered[it["sentence"]["text"]]
        y, fields = make_utterance(it, r.audio, r.phones, CORPUS_SR, world=worlds.get(it["sentence"]["text"]))
        rel = f"wavs/{spk}/{it['id']}.wav"
        path = Path(out_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.wav")
        sf.write(str(tmp), y, CORPUS_SR, subtype="PCM_16")
        os.replace(tmp, path)
        rows.append(
            {
                "id": it["id"], "wav": rel, "sr": CORPUS_SR, "text": it["sentence"]["text"],
                "phonemes": phonemize(it["sentence"]["text"]), "phones": fields["phones"], "speaker": spk,
                "emotion": it["emotion"].to_dict(), "prosody": fields["prosody"], "seed": it["seed"],
                "split": it["split"], "sentence_id": it["sentence"]["id"], "engine": voice.engine,
                "duration": fields["duration"],
            }
        )
    return rows


def _chunks(items: list[dict], size: int) -> Iterable[list[dict]]:
    by_spk: dict[str, list[dict]] = {}
    for it in items:
        by_spk.setdefault(it["speaker"], []).append(it)
    out = []
    for spk_items in by_spk.values():
        # repeats of a sentence land in the same chunk, so the worker renders and analyses it once
        spk_items = sorted(spk_items, key=lambda it: it["sentence"]["id"])
        out += [spk_items[i : i + size] for i in range(0, len(spk_items), size)]
    # interleave speakers so the progress bar means the same thing throughout
    out.sort(key=lambda c: (int(_seed(c[0]["id"]) % 1000)))
    return out


def build_corpus(
    out_dir: str | Path,
    size: str = "small",
    seed: int = 0,
    workers: int = 1,
    chunk_size: int = 12,
    progress: bool = True,
    log=None,
) -> Path:
    """Build (or resume) a corpus; returns the manifest path. Raises if a voice engine is missing."""
    from tqdm import tqdm

    if size not in SIZES:
        raise EmotiveError(f"Unknown corpus size {size!r}; choose from {', '.join(SIZES)}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = out / MANIFEST
    items = plan(size, seed)
    partial = out / PARTIAL
    done: dict[str, dict] = {}
    if final.exists():
        for ln in final.read_text().splitlines():
            if ln.strip():
                r = json.loads(ln)
                done[r["id"]] = r
    if partial.exists():
        for ln in partial.read_text().splitlines():
            try:
                r = json.loads(ln)
            except json.JSONDecodeError:
                continue  # a line cut by an interruption
            if (out / r["wav"]).exists():
                done[r["id"]] = r
    todo = [it for it in items if it["id"] not in done]
    for spk in {it["speaker"] for it in todo}:
        load_voice(spk)  # fail fast with a clear message when an engine is missing
    chunks = list(_chunks(todo, chunk_size))
    bar = tqdm(total=len(items), initial=len(items) - len(todo), unit="utt", disable=not progress, desc=f"corpus {size}")
    t0 = time.time()
    with open(partial, "a") as fp:
        if workers <= 1:
            results = (_work(c, str(out)) for c in chunks)
            for rows in results:
                for r in rows:
                    fp.write(json.dumps(r) + "\n")
                    done[r["id"]] = r
                fp.flush()
                bar.update(len(rows))
                if log:
                    log(f"{len(done)}/{len(items)} utterances, {time.time() - t0:.0f} s")
        else:
            with ProcessPoolExecutor(workers) as ex:
                futs = [ex.submit(_work, c, str(out)) for c in chunks]
                for f in as_completed(futs):
                    rows = f.result()
                    for r in rows:
                        fp.write(json.dumps(r) + "\n")
                        done[r["id"]] = r
                    fp.flush()
                    bar.update(len(rows))
                    if log:
                        log(f"{len(done)}/{len(items)} utterances, {time.time() - t0:.0f} s")
    bar.close()
    order = {it["id"]: i for i, it in enumerate(items)}
    rows = sorted((r for r in done.values() if r["id"] in order), key=lambda r: order[r["id"]])
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    os.replace(tmp, final)
    partial.unlink(missing_ok=True)
    hours = sum(r["duration"] for r in rows) / 3600
    (out / "README.md").write_text(
        f"# emotive speech corpus ({size}, seed {seed})\n\n{len(rows)} utterances, {hours:.2f} h of 16 kHz mono audio, "
        f"speakers {', '.join(SIZES[size].speakers)}.\nBuilt by `emotive corpus speech --size {size} --seed {seed}`. "
        "Rows: see emotive.generators.speech.corpus.\n"
    )
    return final


def read_manifest(path: str | Path) -> list[dict]:
    """Rows of a manifest with ``wav`` made absolute."""
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST
    if not p.exists():
        raise EmotiveError(f"No corpus manifest at '{p}'. Build one with `emotive corpus speech --size small --out DIR`.")
    rows = [json.loads(ln) for ln in p.read_text().splitlines() if ln.strip()]
    for r in rows:
        r["wav"] = str((p.parent / r["wav"]).resolve())
    return rows
