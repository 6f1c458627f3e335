"""Corpus manifests -> feature matrices for the recogniser, cached; leave-one-voice-out evaluation.

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
    """Features of a manifest: feats [N, D], labels [N] (-1: a random-VAD row), vads [N, 3], and per-row
    metadata lists: ``sources`` = the emotion's source ("label", "vad", ...), ``voice_sources`` = the source
    voices a (blended) voice is made of, ``sentences`` = sentence ids."""

    feats: np.ndarray
    labels: np.ndarray
    vads: np.ndarray
    speakers: list[str]
    splits: list[str]
    ids: list[str]
    sources: list[str]
    voice_sources: list[tuple[str, ...]] | None = None
    sentences: list[str] | None = None

    def __post_init__(self):
        if self.voice_sources is None:
            self.voice_sources = [(s,) for s in self.speakers]
        if self.sentences is None:
            self.sentences = list(self.ids)

    def subset(self, mask: np.ndarray) -> FeatureSet:
        idx = np.flatnonzero(mask)
        return FeatureSet(self.feats[idx], self.labels[idx], self.vads[idx], [self.speakers[i] for i in idx],
                          [self.splits[i] for i in idx], [self.ids[i] for i in idx], [self.sources[i] for i in idx],
                          [self.voice_sources[i] for i in idx], [self.sentences[i] for i in idx])


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
                      [r["id"] for r in rows], [r["emotion"].get("source", "label") for r in rows],
                      [tuple(r.get("voice_sources") or (r["speaker"],)) for r in rows],
                      [str(r.get("sentence_id", r["id"])) for r in rows])


def loso(data: FeatureSet, cfg=None, log=None) -> dict:
    """Leave-one-voice-out (see :func:`lovo`); the name the bench calls."""
    return lovo(data, cfg, log)


def concat(*sets: FeatureSet) -> FeatureSet:
    """Rows of several feature sets, in order."""
    return FeatureSet(np.concatenate([s.feats for s in sets]), np.concatenate([s.labels for s in sets]),
                      np.concatenate([s.vads for s in sets]), *([x for s in sets for x in getattr(s, f)] for f in
                      ("speakers", "splits", "ids", "sources", "voice_sources", "sentences")))


def held_out_voices(data: FeatureSet) -> list[str]:
    """The voices a leave-one-voice-out holds out in turn: every voice that is not a blend of others."""
    return sorted({s for s, vs in zip(data.speakers, data.voice_sources) if tuple(vs) == (s,)})


def lovo(data: FeatureSet, cfg=None, log=None, extra: FeatureSet | None = None) -> dict:
    """Leave-one-voice-out over the source voices (blends are never held out on their own).

    Fold for source voice ``s``: train on the train+val rows of every voice that does not contain ``s`` (so a blend
    with ``s`` in it is *excluded from training*); test on all of ``s``'s rows whose sentence no training row
    speaks (its test-split sentences and most of its others). Speaker reference for a test row = mean features of
    ``s``'s *neutral* rows of other sentences (a few neutral recordings of the new voice), so no row is its own
    reference. The blends left out of the fold are scored the same way and reported apart (``per_blend``).
    ``extra``: more training rows (another corpus), used under the same rule (train+val rows of voices without
    ``s``), never scored.

    Returns overall accuracy (labelled rows; with the reference, as the recogniser is meant to be used) and
    ``accuracy_no_reference`` (one file, no reference), arousal/valence/dominance CCC (all test rows, random-VAD
    rows included), ``n``, ``per_speaker``, ``per_blend``, ``confusion`` [8, 8] (rows true, columns predicted).
    """
    from emotive.evaluators.speech.ser import SERConfig, ccc, predict, train_ser

    cfg = cfg or SERConfig()
    spk = np.asarray(data.speakers)
    split = np.asarray(data.splits)
    sent = np.asarray(data.sentences)
    per: dict[str, dict] = {}
    per_blend: dict[str, list] = {}
    acc: dict[str, list] = {"y": [], "p": [], "p0": [], "v": [], "vt": []}

    def score(model, s: str, train_sentences: set) -> dict:
        te = data.subset((spk == s) & ~np.isin(sent, list(train_sentences)))
        neutral = data.subset((spk == s) & (data.labels == 0))
        if not len(te.ids):
            return {}
        refs = np.stack([_reference(neutral, te.sentences[i], te.feats[i]) for i in range(len(te.ids))])
        probs, vad = predict(model, te.feats, refs)
        probs0, _ = predict(model, te.feats, None)
        cls = te.labels >= 0
        return {"y": te.labels[cls], "p": probs.argmax(1)[cls], "p0": probs0.argmax(1)[cls], "v": vad, "vt": te.vads}

    for s in held_out_voices(data):
        contains = np.array([s in vs for vs in data.voice_sources])
        tr = data.subset(~contains & (split != "test"))
        if extra is not None:
            tr = concat(tr, extra.subset(np.array([s not in vs for vs in extra.voice_sources], dtype=bool)
                                         & (np.asarray(extra.splits) != "test")))
        if not len(tr.ids):
            continue
        model = train_ser(tr.feats, tr.labels, tr.vads, tr.speakers, cfg)
        seen = set(tr.sentences)
        out = score(model, s, seen)
        if not out:
            continue
        per[s] = _figures(out, ccc)
        if log:
            log(f"LOVO {s}: {per[s]}")
        for k in acc:
            acc[k].append(out[k])
        for b in sorted({x for x, c in zip(data.speakers, contains) if c and x != s}):
            ob = score(model, b, seen)
            if ob:
                per_blend.setdefault(b, []).append(_figures(ob, ccc) | {"fold": s})
    y, p, p0, v, vt = (np.concatenate(acc[k]) for k in ("y", "p", "p0", "v", "vt"))
    conf = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for a, b in zip(y, p):
        conf[a, b] += 1
    return {"accuracy": float((y == p).mean()), "accuracy_no_reference": float((y == p0).mean()),
            "arousal_ccc": ccc(v[:, 1], vt[:, 1]), "valence_ccc": ccc(v[:, 0], vt[:, 0]),
            "dominance_ccc": ccc(v[:, 2], vt[:, 2]), "n": len(y), "n_vad": len(v), "per_speaker": per,
            "per_blend": per_blend, "confusion": conf.tolist()}


def _reference(neutral: FeatureSet, sentence: str, fallback: np.ndarray) -> np.ndarray:
    """Mean features of the voice's neutral rows of sentences other than ``sentence``."""
    m = np.asarray(neutral.sentences) != sentence
    return neutral.feats[m].mean(0) if m.any() else fallback


def _figures(o: dict, ccc) -> dict:
    return {"n": len(o["y"]), "accuracy": float((o["y"] == o["p"]).mean()) if len(o["y"]) else float("nan"),
            "accuracy_no_reference": float((o["y"] == o["p0"]).mean()) if len(o["y"]) else float("nan"),
            "arousal_ccc": ccc(o["v"][:, 1], o["vt"][:, 1]), "valence_ccc": ccc(o["v"][:, 0], o["vt"][:, 0])}
