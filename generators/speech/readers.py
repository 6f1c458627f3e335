"""Readers that turn real emotional-speech corpora into the corpus manifest format.

Supported layouts (as distributed by their authors):

- **ESD** (Zhou et al., 2021): ``<root>/<0011..0020>/<Angry|Happy|Neutral|Sad|Surprise>/[train|evaluation|test/]<spk>_<nnnnnn>.wav``
  with transcripts in ``<root>/<spk>/<spk>.txt`` (``<utt-id>\\t<text>\\t<emotion>``). ESD's own
  train/evaluation/test folders become train/val/test; without them the split is by sentence.
- **RAVDESS** speech (Livingstone & Russo, 2018): ``<root>/Actor_<NN>/03-01-<EE>-<II>-<SS>-<RR>-<NN>.wav``;
  emotion code EE (01..08 = our label order), intensity II (01 normal -> 0.6, 02 strong -> 1.0), statement SS.
  Split by actor: 21-22 val, 23-24 test.
- **EmoV-DB** (Adigwe et al., 2018): ``<root>/<speaker>_<Emotion>/<emotion>_<a>-<b>_<nnnn>.wav``; texts from an
  optional ``<root>/cmuarctic.data`` (``( arctic_a0001 "text" )``), otherwise empty. Split by sentence number.

Rows have the corpus fields; ``phones`` is empty (no timings in these corpora) and ``prosody`` is ``{}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from emotive.conditioning import Emotion, EmotiveError
from emotive.conditioning.labels import EMOVDB_MAP, ESD_MAP, RAVDESS_CODES

RAVDESS_STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
ESD_SPLITS = {"train": "train", "evaluation": "val", "test": "test"}


class CorpusLayoutError(EmotiveError):
    """A folder does not look like the corpus it was said to be."""


def _split_by_text(key: str) -> str:
    h = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < 0.8 else "val" if h < 0.9 else "test"


def _info(path: Path) -> tuple[int, float]:
    import soundfile as sf

    i = sf.info(str(path))
    return int(i.samplerate), i.frames / i.samplerate


def read_esd(root: str | Path) -> list[dict]:
    root = Path(root)
    rows = []
    for spk_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        spk = spk_dir.name
        texts: dict[str, str] = {}
        tfile = spk_dir / f"{spk}.txt"
        if tfile.exists():
            for ln in tfile.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = ln.strip().split("\t")
                if len(parts) >= 2:
                    texts[parts[0]] = parts[1]
        for emo_dir in sorted(p for p in spk_dir.iterdir() if p.is_dir()):
            key = emo_dir.name.lower()
            if key not in ESD_MAP:
                continue
            emotion = Emotion.mix(ESD_MAP[key], intensity=1.0, source="mixture")
            for wav in sorted(emo_dir.rglob("*.wav")):
                sub = wav.parent.name.lower()
                uid = wav.stem
                text = texts.get(uid, "")
                split = ESD_SPLITS.get(sub) or _split_by_text(uid.split("_")[-1][-3:])
                rows.append({"wav_abs": wav, "id": f"esd_{uid}", "text": text, "speaker": f"esd{spk}", "emotion": emotion,
                             "split": split})
    if not rows:
        raise CorpusLayoutError(f"No ESD-style files under '{root}' (<speaker>/<Emotion>/[split/]*.wav).")
    return rows


_RAV = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def read_ravdess(root: str | Path) -> list[dict]:
    root = Path(root)
    rows = []
    for wav in sorted(root.rglob("*.wav")):
        m = _RAV.match(wav.stem)
        if not m:
            continue
        _modality, channel, emo, inten, stmt, _rep, actor = m.groups()
        if channel != "01" or emo not in RAVDESS_CODES:  # 01 = speech (02 = song)
            continue
        label = RAVDESS_CODES[emo]
        e = Emotion.from_label(label, 1.0 if label == "neutral" or inten == "02" else 0.6)
        a = int(actor)
        split = "test" if a >= 23 else "val" if a >= 21 else "train"
        rows.append({"wav_abs": wav, "id": f"ravdess_{wav.stem}", "text": RAVDESS_STATEMENTS.get(stmt, ""),
                     "speaker": f"ravdess{actor}", "emotion": e, "split": split})
    if not rows:
        raise CorpusLayoutError(f"No RAVDESS speech files under '{root}' (Actor_NN/03-01-EE-II-SS-RR-NN.wav).")
    return rows


_EMOV = re.compile(r"^([a-z]+)_(\d+)-(\d+)_(\d{4})$", re.IGNORECASE)


def read_emovdb(root: str | Path) -> list[dict]:
    root = Path(root)
    prompts: dict[int, str] = {}
    data = root / "cmuarctic.data"
    if data.exists():
        for m in re.finditer(r'\(\s*arctic_a(\d{4})\s+"(.*?)"\s*\)', data.read_text(errors="replace")):
            prompts[int(m.group(1))] = m.group(2)
    rows = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if "_" not in d.name:
            continue
        spk, emo = d.name.split("_", 1)
        key = emo.lower()
        if key not in EMOVDB_MAP:
            continue
        e = Emotion.mix(EMOVDB_MAP[key], intensity=1.0)
        for wav in sorted(d.glob("*.wav")):
            m = _EMOV.match(wav.stem)
            if not m:
                continue
            n = int(m.group(4))
            rows.append({"wav_abs": wav, "id": f"emovdb_{spk}_{key}_{n:04d}", "text": prompts.get(n, ""),
                         "speaker": f"emovdb_{spk.lower()}", "emotion": e, "split": _split_by_text(f"arctic{n}")})
    if not rows:
        raise CorpusLayoutError(f"No EmoV-DB files under '{root}' (<speaker>_<Emotion>/<emotion>_a-b_NNNN.wav).")
    return rows


READERS = {"esd": read_esd, "ravdess": read_ravdess, "emovdb": read_emovdb}


def write_manifest(kind: str, root: str | Path, out_dir: str | Path, phonemes: bool = True) -> Path:
    """Read a real corpus and write ``out_dir/manifest.jsonl`` (wav paths relative to it; audio not copied)."""
    from emotive.generators.speech.frontend import FrontendError, phonemize

    if kind not in READERS:
        raise EmotiveError(f"Unknown corpus kind {kind!r}; choose from {', '.join(READERS)}.")
    root = Path(root)
    if not root.is_dir():
        raise CorpusLayoutError(f"'{root}' is not a folder.")
    rows = READERS[kind](root)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for r in rows:
        sr, dur = _info(r["wav_abs"])
        try:
            ph = phonemize(r["text"]) if phonemes and r["text"] else []
        except FrontendError:
            ph = []
        lines.append(json.dumps({
            "id": r["id"], "wav": os.path.relpath(r["wav_abs"], out), "sr": sr, "text": r["text"], "phonemes": ph,
            "phones": [], "speaker": r["speaker"], "emotion": r["emotion"].to_dict(), "prosody": {}, "seed": 0,
            "split": r["split"], "duration": round(dur, 4), "engine": f"real:{kind}",
        }))
    path = out / "manifest.jsonl"
    tmp = out / "manifest.jsonl.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path
