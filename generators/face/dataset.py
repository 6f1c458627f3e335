"""Training data for the motion model: speech-corpus rows -> (audio features, emotion, procedural motion).

Each manifest row (the speech corpus: ``{"wav", "phones": [{"phone","start","end"}], "emotion": {...},
"speaker", "split", ...}``) gives its exact phone timings and the emotion it was rendered with; the
procedural synthesis (:mod:`.procedural`) turns them into ``takes`` different motions (random style,
blinks, head motion) so the model learns a distribution. Stored as one ``.npz`` with ragged arrays.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emotive.conditioning import Emotion
from emotive.conditioning.errors import EmotiveError
from emotive.generators.face.audio_features import audio_features
from emotive.generators.face.phones import PhoneTimingError, phones_from_manifest_row
from emotive.generators.face.procedural import synthesize_motion


def read_rows(manifest: str | Path) -> list[dict]:
    """Rows of a speech-corpus manifest (JSONL) with ``wav`` made absolute."""
    p = Path(manifest)
    if p.is_dir():
        p = p / "manifest.jsonl"
    if not p.exists():
        raise EmotiveError(f"No speech-corpus manifest at '{p}' (build it with `emotive corpus speech`).")
    rows = []
    for line in p.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            r["wav"] = str((p.parent / r["wav"]).resolve())
            rows.append(r)
    return rows


def hold_out_speakers(rows: list[dict], speakers: list[str] | tuple[str, ...]) -> list[dict]:
    """Copies of ``rows`` where every train row of ``speakers`` moves to the ``"heldout_voice"`` split, so the
    model never hears those voices (the speech corpus splits by sentence, with every voice in every split).
    Raises :class:`EmotiveError` for a speaker with no rows."""
    unknown = sorted(set(speakers) - {r.get("speaker") for r in rows})
    if unknown:
        raise EmotiveError(f"No rows of speaker(s) {', '.join(unknown)} in the manifest.")
    return [
        {**r, "split": "heldout_voice"}
        if r.get("speaker") in speakers and r.get("split", "train") == "train"
        else r
        for r in rows
    ]


def build_dataset(
    rows: list[dict], out: str | Path, takes: int = 3, seed: int = 0, progress: bool = True
) -> dict:
    """Make the training arrays; returns counts. Output ``.npz``: feats [N_frames, 162] (concatenated),
    motion [N_frames, 58], emo [N_clips, 12] emotion features, offsets [N_clips + 1], and the clip metadata."""
    import soundfile as sf

    from emotive.conditioning.encoder import emotion_features

    rng = np.random.default_rng(seed)
    feats, motions, emos, offsets, meta = [], [], [], [0], []
    skipped = 0
    for r in tqdm(rows, desc="face data", disable=not progress):
        try:
            phones = phones_from_manifest_row(r)
            audio, sr = sf.read(r["wav"], dtype="float32", always_2d=True)
        except (PhoneTimingError, RuntimeError, OSError):
            skipped += 1
            continue
        audio = audio.mean(axis=1)
        emo = (
            Emotion.from_dict(r["emotion"])
            if isinstance(r.get("emotion"), dict)
            else Emotion.parse(str(r.get("emotion", "neutral")))
        )
        ef = emotion_features([emo])[0].numpy()
        f = None
        for _ in range(takes):
            m = synthesize_motion(phones, emo, audio=audio, sr=sr, rng=rng)
            if f is None:
                f = audio_features(audio, sr, len(m))
            feats.append(f)
            motions.append(m.to_array())
            emos.append(ef)
            offsets.append(offsets[-1] + len(m))
            meta.append(
                {
                    "id": r.get("id"),
                    "speaker": r.get("speaker"),
                    "split": r.get("split", "train"),
                    "emotion": str(emo),
                }
            )
    if not motions:
        raise EmotiveError("No usable rows in the manifest.")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, feats=np.concatenate(feats), motion=np.concatenate(motions), emo=np.stack(emos),
             offsets=np.array(offsets), meta=np.array(json.dumps(meta)))  # fmt: skip
    tmp.replace(out)
    return {"clips": len(motions), "frames": int(offsets[-1]), "skipped": skipped}
