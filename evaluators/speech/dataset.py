"""Corpus manifests -> feature matrices for the recogniser, cached; leave-one-speaker-out evaluation.

Reads the JSONL manifest format of ``emotive corpus speech`` (and of the real-corpus
readers) directly: an evaluator never imports a generator.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotive.conditioning import LABELS, EmotiveError
from emotive.conditioning.labels import LABEL_INDEX
from emotive.evaluators.speech.features import DIM, utterance_features


@dataclass
class FeatureSet:
    """Features of a manifest: feats [N, D], labels [N], vads [N, 3], and per-row metadata lists."""

    feats: np.ndarray
    labels: np.ndarray
    vads: np.ndarray
    speakers: list[str]
    splits: list[str]
    ids: list[str]
    sources: list[str]

    def subset(self, mask: np.ndarray) -> FeatureSet:
        idx = np.flatnonzero(mask)
        return FeatureSet(self.feats[idx], self.labels[idx], self.vads[idx], [self.speakers[i] for i in idx],
                          [self.splits[i] for i in idx], [self.ids[i] for i in idx], [self.sources[i] for i in idx])


def read_rows(manifest: str | Path) -> list[dict]:
    p = Path(manifest)
    if p.is_dir():
        p = p / "manifest.jsonl"
    if not p.exists():
        raise EmotiveError(f"No manifest at '{p}'. Build a corpus with `emotive corpus speech --size small --out DIR`.")
    rows = [json.loads(ln) for ln in p.read_text().splitlines() if ln.strip()]
    for r in rows:
        r["wav"] = str((p.parent / r["wav"]).resolve())
    return rows


def _feat(path: str) -> np.ndarray:
    import soundfile as sf

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return utterance_features(x.mean(axis=1), sr)


def manifest_features(manifest: str | Path, cache_dir: str | Path | None = None, workers: int = 1, progress: bool = True) -> FeatureSet:
    """Features for every row (cached per utterance id + file size in ``cache_dir``)."""
    from tqdm import tqdm

    rows = read_rows(manifest)
    cache: dict[str, np.ndarray] = {}
    cpath = None
    if cache_dir is not None:
        key = hashlib.sha1(str(Path(manifest).resolve()).encode()).hexdigest()[:10]
        cpath = Path(cache_dir) / f"features_{key}_v{DIM}.npz"
        if cpath.exists():
            with np.load(cpath) as z:
                cache = {k: z[k] for k in z.files}
    keyof = [f"{r['id']}:{os.path.getsize(r['wav'])}" for r in rows]
    todo = [i for i, k in enumerate(keyof) if k not in cache]
    if todo:
        paths = [rows[i]["wav"] for i in todo]
        if workers > 1:
            with ProcessPoolExecutor(workers) as ex:
                out = list(tqdm(ex.map(_feat, paths, chunksize=8), total=len(paths), disable=not progress, desc="features"))
        else:
            out = [_feat(p) for p in tqdm(paths, disable=not progress, desc="features")]
        for i, f in zip(todo, out):
            cache[keyof[i]] = f
        if cpath is not None:
            cpath.parent.mkdir(parents=True, exist_ok=True)
            tmp = cpath.with_suffix(".tmp.npz")
            np.savez(tmp, **cache)
            os.replace(tmp, cpath)
    feats = np.stack([cache[k] for k in keyof]) if rows else np.zeros((0, DIM), np.float32)
    # rows rendered from random VAD points train the VAD head only (their argmax label is not a category)
    labels = np.array([LABEL_INDEX[r["emotion"]["label"]] if r["emotion"].get("source", "label") in ("label", "mixture")
                       else -1 for r in rows], dtype=np.int64)
    vads = np.array([[r["emotion"]["vad"][k] for k in ("valence", "arousal", "dominance")] for r in rows], dtype=np.float32)
    return FeatureSet(feats, labels, vads, [r["speaker"] for r in rows], [r.get("split", "train") for r in rows],
                      [r["id"] for r in rows], [r["emotion"].get("source", "label") for r in rows])


def loso(data: FeatureSet, cfg=None, log=None) -> dict:
    from emotive.evaluators.speech.ser import SERConfig

    cfg = cfg or SERConfig()
    return _loso(data, cfg, log)


def _loso(data: FeatureSet, cfg, log=None) -> dict:
    """Leave-one-speaker-out: train on the other speakers' train+val rows, test on the held-out
    speaker's *test-split* rows (sentences never seen in training), speaker reference = mean of those
    test rows' features (unlabeled). Returns overall and per-speaker accuracy, CCCs, confusion."""
    from emotive.evaluators.speech.ser import ccc, predict, train_ser

    spk = np.asarray(data.speakers)
    split = np.asarray(data.splits)
    per: dict[str, dict] = {}
    y_all, p_all, v_all, vt_all = [], [], [], []
    for s in sorted(set(data.speakers)):
        tr = data.subset((spk != s) & (split != "test"))
        te = data.subset((spk == s) & (split == "test"))
        if len(te.ids) == 0 or len(tr.ids) == 0:
            continue
        model = train_ser(tr.feats, tr.labels, tr.vads, tr.speakers, cfg)
        if cfg is not None and cfg.ref_mode == "pool":
            ref = te.feats.mean(0)  # unlabeled pool of the held-out voice's test clips
        else:  # neutral recordings of the held-out voice, from sentences outside the test split
            neu = data.subset((spk == s) & (split != "test") & (data.labels == 0))
            ref = neu.feats.mean(0) if len(neu.ids) else te.feats.mean(0)
        probs, vad = predict(model, te.feats, ref)
        pred = probs.argmax(1)
        cls = te.labels >= 0
        per[s] = {"n": int(cls.sum()), "accuracy": float((pred == te.labels)[cls].mean()),
                  "arousal_ccc": ccc(vad[:, 1], te.vads[:, 1]), "valence_ccc": ccc(vad[:, 0], te.vads[:, 0])}
        if log:
            log(f"LOSO {s}: {per[s]}")
        y_all.append(te.labels[cls])
        p_all.append(pred[cls])
        v_all.append(vad)
        vt_all.append(te.vads)
    y, p, v, vt = (np.concatenate(a) for a in (y_all, p_all, v_all, vt_all))  # y, p: labelled rows; v, vt: all
    conf = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for a, b in zip(y, p):
        conf[a, b] += 1
    return {"accuracy": float((y == p).mean()), "arousal_ccc": ccc(v[:, 1], vt[:, 1]), "valence_ccc": ccc(v[:, 0], vt[:, 0]),
            "dominance_ccc": ccc(v[:, 2], vt[:, 2]), "n": len(y), "per_speaker": per, "confusion": conf.tolist()}
