"""The emotional speech corpus (v2): sentences x Kokoro voices x emotions through ``EmotionalSpeechPipeline``.

``build_corpus(out_dir, size)`` writes, per utterance, ``wavs/<speaker>/<id>.wav`` (24 kHz mono PCM-16, the
engine's own rate) and ``wavs16k/<speaker>/<id>.wav`` (the same audio at 16 kHz), and two manifests with one
row per utterance, identical but for ``wav`` and ``sr``: ``manifest.jsonl`` (24 kHz) and
``manifest_16k.jsonl`` (16 kHz)::

    {"id", "wav" (relative to the manifest), "sr", "text", "phonemes" (ARPAbet, upper case, no stress),
     "phones": [{"phone", "start", "end"}] (lowercase ARPAbet with stress digit on vowels, "pau" for silence;
                contiguous from 0 to the end of the audio, from the engine's own token timings),
     "kokoro_phonemes" (misaki string spoken), "words": [{"word", "start", "end"}],
     "speaker", "voice_sources" (the source style vectors the voice blends), "emotion": Emotion.to_dict(),
     "prosody": ProsodyParams.to_dict(), "seed", "split", "sentence_id", "engine", "duration" (s)}

The loop: :func:`plan` lists the utterances (each voice its own shuffle of each split's sentences; the 8 labels
at intensities in [0.5, 1] (neutral 1), plus random valence-arousal points for the train split); each utterance's
rules are ``ProsodyParams.from_emotion(e).perturbed(rng, RULE_VARIATION)`` with ``rng`` seeded from the corpus
seed, voice, sentence and slot, and the same seed drives the pipeline's ``generator`` -> deterministic per seed
(Kokoro runs on one ONNX thread per worker). Resumable: finished rows are appended to
``manifest.partial.jsonl`` after both WAVs are in place (written to a temporary name, then renamed), a rerun
skips them. Parallel: ``workers`` processes, one Kokoro each. A tqdm progress bar.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotive.conditioning import LABELS, Emotion, EmotiveError
from emotive.generators.speech.kokoro import SAMPLE_RATE
from emotive.generators.speech.prosody import KOKORO_PAUSES, ProsodyParams
from emotive.generators.speech.sentences import load_sentences

MANIFEST = "manifest.jsonl"
MANIFEST_16K = "manifest_16k.jsonl"
PARTIAL = "manifest.partial.jsonl"
SR_16K = 16_000
ENGINE = "kokoro-direct"
RULE_VARIATION = 0.12
"""Per-utterance spread of every rule delta from neutral (log-normal scale factor, ``ProsodyParams.perturbed``):
the recogniser must learn the emotion, not one exact parameter set."""
INTENSITY_RANGE = (0.5, 1.0)
"""Label intensities, uniform: below 0.5 the rules move F0 by < ~1 semitone, a label no listener could name."""
VAD_LIMIT = 0.9
"""Random VAD points: uniform in the valence-arousal square with |v|, |a| <= this."""
PAUSE_MERGE_S = 0.08
"""A word gap shorter than this is coarticulation (its time goes to the preceding phone); longer is a pause."""
TARGET_RMS_DB = -26.0
"""Active-speech level used by :func:`_normalise` (the bench's plain-voice conversion reference)."""

CORPUS_VOICES: dict[str, str] = {
    "jf_alpha": "jf_alpha", "jf_gongitsune": "jf_gongitsune", "jf_nezumi": "jf_nezumi", "jf_tebukuro": "jf_tebukuro",
    "jm_kumo": "jm_kumo", "alma": "0.5 jf_alpha + 0.5 jf_tebukuro", "nova": "0.6 jf_alpha + 0.4 jf_nezumi",
    "wren": "0.5 jf_gongitsune + 0.5 jf_tebukuro",
}
"""Corpus speaker -> the voice spec it is rendered with: the eight voices of corpus v2 (the shipped recogniser's
data), fixed here so that the recipe reproduces it whatever voices the product lists later."""
VOICE_SOURCES: dict[str, tuple[str, ...]] = {
    name: tuple(t.split()[-1] for t in spec.split("+")) for name, spec in CORPUS_VOICES.items()}
"""Corpus speaker -> the source style vectors it is made of (a leave-one-voice-out split needs them)."""
SOURCE_VOICES: tuple[str, ...] = tuple(n for n, src in VOICE_SOURCES.items() if len(src) == 1)


@dataclass(frozen=True)
class CorpusSize:
    """Per voice: sentences per label in each split, plus random-VAD utterances (train split).

    ``max_words``: only sentences this short (tiny corpora for tests)."""

    speakers: tuple[str, ...]
    per_label: dict
    vad_points: int
    labels: tuple[str, ...] = LABELS
    max_words: int | None = None


ALL_VOICES = tuple(CORPUS_VOICES)
SIZES: dict[str, CorpusSize] = {
    # seconds, for tests: 2 voices x 2 labels x 1 short sentence
    "tiny": CorpusSize(("jf_alpha", "jm_kumo"), {"train": 1, "val": 0, "test": 0}, 0, ("angry", "sad"), max_words=5),
    # ~1 h of CPU on one core (~3.5 s per utterance on a shared 2-core machine): 8 x (8 x 13 + 16) = 960
    "small": CorpusSize(ALL_VOICES, {"train": 10, "val": 1, "test": 2}, 16),
    # ~8 h of audio: 8 x (8 x 104 + 250) = 8,656 utterances (~9 CPU-hours)
    "full": CorpusSize(ALL_VOICES, {"train": 80, "val": 8, "test": 16}, 250),
}


def _seed(*parts: object) -> int:
    return int(hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def plan(size: str | CorpusSize, seed: int = 0, sentences: list[dict] | None = None) -> list[dict]:
    """The utterance list (no audio): ``[{"id", "speaker", "sentence", "emotion", "seed", "split"}]``.

    Every voice gets its own shuffle of each split's sentences, so sentence and emotion are not confounded.
    """
    cfg = SIZES[size] if isinstance(size, str) else size
    rows = sentences if sentences is not None else load_sentences()
    if cfg.max_words is not None:
        rows = [r for r in rows if len(r["text"].split()) <= cfg.max_words]
    by_split = {s: [r for r in rows if r["split"] == s] for s in ("train", "val", "test")}
    items: list[dict] = []
    for spk in cfg.speakers:
        for split, n in cfg.per_label.items():
            pool = by_split[split]
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
                    inten = 1.0 if lab == "neutral" else round(float(r.uniform(*INTENSITY_RANGE)), 3)
                    items.append({"id": f"{spk}_{sent['id']}_{lab[:3]}{j}", "speaker": spk, "sentence": sent,
                                  "emotion": Emotion.from_label(lab, inten), "seed": s, "split": split})
        pool = by_split["train"]
        order = np.random.default_rng(_seed(seed, spk, "vad")).permutation(len(pool))
        for j in range(cfg.vad_points):
            sent = pool[order[j % len(pool)]]
            s = _seed(seed, spk, sent["id"], "vad", j)
            v, a = (round(float(x), 3) for x in np.random.default_rng(s).uniform(-VAD_LIMIT, VAD_LIMIT, 2))
            items.append({"id": f"{spk}_{sent['id']}_vad{j}", "speaker": spk, "sentence": sent,
                          "emotion": Emotion.from_vad(v, a), "seed": s, "split": "train"})
    return items


# ---------------------------------------------------------------------- phones: misaki -> ARPAbet
MISAKI_TO_ARPABET: dict[str, str] = {
    # vowels (misaki writes diphthongs as one capital: A = eɪ, I = aɪ, W = aʊ, Y = ɔɪ, O = oʊ, Q = əʊ)
    "A": "EY", "I": "AY", "W": "AW", "Y": "OY", "O": "OW", "Q": "OW", "i": "IY", "u": "UW", "ɑ": "AA", "ɒ": "AA",
    "ɔ": "AO", "ə": "AH", "ᵊ": "AH", "ɐ": "AH", "ʌ": "AH", "ɛ": "EH", "e": "EH", "ɜ": "ER", "ɚ": "ER", "æ": "AE",
    "a": "AE", "ɪ": "IH", "ᵻ": "IH", "ɨ": "IH", "ʊ": "UH", "o": "OW",
    # consonants (T and ɾ: the flap, ʔ: glottal stop -> T, as the frontend's IPA table does)
    "b": "B", "d": "D", "f": "F", "h": "HH", "k": "K", "l": "L", "m": "M", "n": "N", "p": "P", "s": "S", "t": "T",
    "v": "V", "w": "W", "z": "Z", "ɡ": "G", "g": "G", "ŋ": "NG", "ɹ": "R", "r": "R", "ʃ": "SH", "ʒ": "ZH",
    "ð": "DH", "θ": "TH", "ʤ": "JH", "ʧ": "CH", "j": "Y", "T": "T", "ɾ": "T", "ʔ": "T", "c": "K", "x": "K",
    "ç": "HH", "ɬ": "L",
}  # fmt: skip
"""Kokoro's (misaki's) phoneme characters -> CMU ARPAbet; ``ɜɹ`` / ``əɹ`` become one ER (r-coloured vowel)."""
_ARPA_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
_STRESS = {"ˈ": "1", "ˌ": "2"}


def arpabet_phones(phones: list[tuple[str, float, float]], duration: float) -> list[dict]:
    """The pipeline's per-character timings -> contiguous ``[{"phone", "start", "end"}]`` from 0 to ``duration``.

    ARPAbet in lower case with a stress digit on vowels (``eh1``, ``ah0``) and ``pau`` for silence (the start,
    punctuation, word gaps >= ``PAUSE_MERGE_S``, the end). A stress mark's time goes to the phone after it,
    other unspoken characters (length marks, short word gaps) to the phone before.
    """
    out: list[list] = []  # [phone, start, end]
    stress = None
    pending_start = None  # a stress mark's start: the next phone begins there
    chars = list(phones)
    i = 0
    while i < len(chars):
        c, s, e = chars[i]
        if c in _STRESS:
            stress = _STRESS[c]
            pending_start = s if pending_start is None else pending_start
        elif c in KOKORO_PAUSES or (c == " " and e - s >= PAUSE_MERGE_S):
            out.append(["pau", s, e])
            pending_start = None
        elif c in MISAKI_TO_ARPABET:
            ph = MISAKI_TO_ARPABET[c]
            if c in "ɜə" and i + 1 < len(chars) and chars[i + 1][0] == "ɹ":
                ph, e = "ER", chars[i + 1][2]
                i += 1
            if ph in _ARPA_VOWELS:
                ph += stress or "0"
                stress = None
            out.append([ph.lower(), s if pending_start is None else pending_start, e])
            pending_start = None
        elif out:  # length marks, a short word gap, unknown diacritics: part of the previous phone
            out[-1][2] = e
        i += 1
    # contiguous from 0 to the end: leading/trailing silence, gaps filled, pau runs merged
    res: list[list] = []
    t = 0.0
    for ph, s, e in out:
        s = max(s, t)
        if s > t + 1e-6:
            if res and res[-1][0] != "pau" and s - t < PAUSE_MERGE_S:
                res[-1][2] = s
            else:
                res.append(["pau", t, s])
        if e <= s:
            continue
        if ph == "pau" and res and res[-1][0] == "pau":
            res[-1][2] = e
        else:
            res.append([ph, s, e])
        t = e
    if duration > t + 1e-6:
        if res and res[-1][0] == "pau":
            res[-1][2] = duration
        else:
            res.append(["pau", t, duration])
    res = [r for r in res if r[2] > r[1]]
    rows = [{"phone": ph, "start": round(float(s), 4), "end": round(float(e), 4)} for ph, s, e in res]
    for a, b in itertools.pairwise(rows):
        a["end"] = b["start"]  # rounding must not open gaps
    if rows:
        rows[0]["start"] = 0.0
        rows[-1]["end"] = round(float(duration), 4)
    return rows


# ---------------------------------------------------------------------- rendering
def _normalise(x: np.ndarray, phones: list[dict], sr: int) -> np.ndarray:
    """Scale to ``TARGET_RMS_DB`` over non-pause phones (a level reference for plain voices, used by the bench)."""
    mask = np.zeros(len(x), dtype=bool)
    for p in phones:
        if p["phone"] != "pau":
            mask[int(p["start"] * sr) : int(p["end"] * sr)] = True
    act = x[mask] if mask.sum() > sr * 0.1 else x
    rms = float(np.sqrt(np.mean(act.astype(np.float64) ** 2))) + 1e-9
    return (x * (10 ** (TARGET_RMS_DB / 20) / rms)).astype(np.float32)


_PIPE: list = []


def _pipeline():
    if not _PIPE:
        from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

        _PIPE.append(EmotionalSpeechPipeline.from_pretrained(threads=1))  # one thread: deterministic, one core
    return _PIPE[0]


def params_for(item: dict) -> ProsodyParams:
    """The utterance's rules: the emotion's, each delta varied by ``RULE_VARIATION`` (seeded by the item)."""
    rng = np.random.default_rng(item["seed"])
    return ProsodyParams.from_emotion(item["emotion"]).perturbed(rng, RULE_VARIATION)


def make_utterance(item: dict, pipe=None) -> tuple[np.ndarray, dict]:
    """Render one planned item. Returns the 24 kHz waveform [T] and its manifest row (``wav``/``sr`` unset)."""
    import torch

    pipe = pipe or _pipeline()
    params = params_for(item)
    out = pipe(item["sentence"]["text"], emotion=item["emotion"], voice=CORPUS_VOICES.get(item["speaker"], item["speaker"]),
               generator=torch.Generator().manual_seed(item["seed"]), params=params)
    wav = out.waveform
    dur = len(wav) / out.sample_rate
    chars = [p for seg in out.segments for p in seg.phones]
    phones = arpabet_phones(chars, dur)
    row = {
        "id": item["id"], "text": item["sentence"]["text"],
        "phonemes": [p["phone"].rstrip("012").upper() for p in phones if p["phone"] != "pau"],
        "phones": phones,
        "kokoro_phonemes": " ".join(seg.phonemes for seg in out.segments),
        "words": [{"word": w.text, "start": round(w.start, 4), "end": round(w.end, 4)}
                  for seg in out.segments for w in seg.words],
        "speaker": item["speaker"], "voice_sources": list(VOICE_SOURCES.get(item["speaker"], (item["speaker"],))),
        "emotion": item["emotion"].to_dict(), "prosody": params.to_dict(), "seed": item["seed"],
        "split": item["split"], "sentence_id": item["sentence"]["id"], "engine": ENGINE, "duration": round(dur, 4),
    }
    return wav, row


def _write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.wav")
    sf.write(str(tmp), x, sr, subtype="PCM_16")
    os.replace(tmp, path)


def _work(item: dict, out_dir: str) -> dict:
    from scipy.signal import resample_poly

    wav, row = make_utterance(item)
    out = Path(out_dir)
    rel = f"wavs/{item['speaker']}/{item['id']}.wav"
    _write_wav(out / rel, wav, SAMPLE_RATE)
    g = np.gcd(SR_16K, SAMPLE_RATE)
    _write_wav(out / _rel16(rel), np.clip(resample_poly(wav, SR_16K // g, SAMPLE_RATE // g), -1, 1), SR_16K)
    return {**row, "wav": rel, "sr": SAMPLE_RATE}


def _rel16(rel: str) -> str:
    return "wavs16k/" + rel.split("/", 1)[1]


def _order(items: list[dict]) -> list[dict]:
    """Interleave voices and labels, so a corpus stopped early is still balanced."""
    return sorted(items, key=lambda it: _seed(it["id"]))


def build_corpus(
    out_dir: str | Path,
    size: str = "small",
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    log=None,
) -> Path:
    """Build (or resume) a corpus; returns the (24 kHz) manifest path."""
    from tqdm import tqdm

    if size not in SIZES:
        raise EmotiveError(f"Unknown corpus size {size!r}; choose from {', '.join(SIZES)}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = plan(size, seed)
    done = _finished_rows(out)
    todo = _order([it for it in items if it["id"] not in done])
    if todo and workers <= 1:
        _pipeline()  # fail fast (missing Kokoro parts) before the progress bar
    bar = tqdm(total=len(items), initial=len(items) - len(todo), unit="utt", disable=not progress, desc=f"corpus {size}")
    t0 = time.time()

    def record(fp, r: dict) -> None:
        fp.write(json.dumps(r) + "\n")
        fp.flush()
        done[r["id"]] = r
        bar.update(1)
        if log:
            log(f"{len(done)}/{len(items)} utterances, {time.time() - t0:.0f} s")

    with open(out / PARTIAL, "a") as fp:
        if workers <= 1:
            for it in todo:
                record(fp, _work(it, str(out)))
        else:
            with ProcessPoolExecutor(workers) as ex:
                for f in as_completed([ex.submit(_work, it, str(out)) for it in todo]):
                    record(fp, f.result())
    bar.close()
    order = {it["id"]: i for i, it in enumerate(items)}
    rows = sorted((r for r in done.values() if r["id"] in order), key=lambda r: order[r["id"]])
    _write_manifests(out, rows)
    (out / PARTIAL).unlink(missing_ok=True)
    hours = sum(r["duration"] for r in rows) / 3600
    (out / "README.md").write_text(
        f"# emotive speech corpus v2 ({size}, seed {seed})\n\n{len(rows)} utterances, {hours:.2f} h, voices "
        f"{', '.join(SIZES[size].speakers)} (Kokoro-82M, `{ENGINE}`).\n`{MANIFEST}`: 24 kHz WAVs in wavs/; "
        f"`{MANIFEST_16K}`: the same at 16 kHz in wavs16k/.\nBuilt by `emotive corpus speech --size {size} "
        f"--seed {seed}`. Rows: see emotive.generators.speech.corpus.\n"
    )
    return out / MANIFEST


def _finished_rows(out: Path) -> dict[str, dict]:
    """Rows already rendered: the final manifest's and the partial manifest's whose WAVs both exist."""
    done: dict[str, dict] = {}
    for name in (MANIFEST, PARTIAL):
        p = out / name
        if not p.exists():
            continue
        for ln in p.read_text().splitlines():
            try:
                r = json.loads(ln)
            except json.JSONDecodeError:
                continue  # a line cut by an interruption
            if (out / r["wav"]).exists() and (out / _rel16(r["wav"])).exists():
                done[r["id"]] = r
    return done


def _write_manifests(out: Path, rows: list[dict]) -> None:
    for name, conv in ((MANIFEST, lambda r: r), (MANIFEST_16K, lambda r: {**r, "wav": _rel16(r["wav"]), "sr": SR_16K})):
        tmp = out / (name + ".tmp")
        tmp.write_text("".join(json.dumps(conv(r)) + "\n" for r in rows))
        os.replace(tmp, out / name)


def snapshot(out_dir: str | Path) -> int:
    """Write the manifests from the rows finished so far (a build still running keeps going); returns the count."""
    out = Path(out_dir)
    rows = sorted(_finished_rows(out).values(), key=lambda r: r["id"])
    _write_manifests(out, rows)
    return len(rows)


def read_manifest(path: str | Path) -> list[dict]:
    """Rows of a manifest (or of a corpus folder's 24 kHz manifest) with ``wav`` made absolute."""
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST
    if not p.exists():
        raise EmotiveError(f"No corpus manifest at '{p}'. Build one with `emotive corpus speech --size small --out DIR`.")
    rows = [json.loads(ln) for ln in p.read_text().splitlines() if ln.strip()]
    for r in rows:
        r["wav"] = str((p.parent / r["wav"]).resolve())
    return rows
