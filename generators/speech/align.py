"""Checking phone timings across voices by DTW transfer.

Piper's timings come from its own duration predictor, not from an acoustic
aligner, so we check them against engines whose timings are exact (flite,
festival): render the same text with a reference voice, align the two
recordings with dynamic time warping on MFCCs, carry the reference's phone
boundaries over, and compare with the timings the voice reported. The same
procedure between two engines that *both* report timings measures the error of
the DTW transfer itself, which bounds what the comparison can resolve.

Phone sequences differ between engines (espeak vs CMU lexicon), so phones are
matched by sequence alignment (``difflib``) and only matched phones are compared.
"""

from __future__ import annotations

import difflib

import numpy as np

HOP_S = 0.01


def _mfcc(x: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    m = librosa.feature.mfcc(y=x.astype(np.float32), sr=sr, n_mfcc=20, n_fft=512, hop_length=int(sr * HOP_S), n_mels=40)
    m = m[1:]  # drop c0 (level)
    return ((m - m.mean(1, keepdims=True)) / (m.std(1, keepdims=True) + 1e-6)).T  # [frames, 19]


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DTW between feature sequences [Na, D] and [Nb, D]; returns path [(i, j)] from start to end."""
    import librosa

    _, wp = librosa.sequence.dtw(X=a.T, Y=b.T, metric="cosine")
    return wp[::-1]


def transfer_boundaries(ref_audio: np.ndarray, ref_phones: list[dict], tgt_audio: np.ndarray, sr: int) -> list[dict]:
    """Reference phones carried onto the target's time axis through the DTW path."""
    path = dtw_path(_mfcc(ref_audio, sr), _mfcc(tgt_audio, sr))
    ri, tj = path[:, 0] * HOP_S, path[:, 1] * HOP_S
    # for each reference time, the mean target time of path points at that reference frame
    def to_tgt(t: float) -> float:
        k = np.searchsorted(ri, t)
        k = min(max(k, 0), len(ri) - 1)
        same = ri == ri[k]
        return float(tj[same].mean())

    return [{"phone": p["phone"], "start": to_tgt(p["start"]), "end": to_tgt(p["end"])} for p in ref_phones]


def boundary_errors(phones_a: list[dict], phones_b: list[dict]) -> np.ndarray:
    """Absolute start-time differences (s) of phones matched by label-sequence alignment (pauses excluded)."""
    a = [p for p in phones_a if p["phone"] != "pau"]
    b = [p for p in phones_b if p["phone"] != "pau"]
    sm = difflib.SequenceMatcher(a=[p["phone"] for p in a], b=[p["phone"] for p in b], autojunk=False)
    errs = []
    for blk in sm.get_matching_blocks():
        for k in range(blk.size):
            errs.append(abs(a[blk.a + k]["start"] - b[blk.b + k]["start"]))
    return np.asarray(errs)


def timing_check(texts: list[str], voice: str, reference: str, sr: int = 16000) -> dict:
    """Mean/median absolute boundary difference (ms) between ``voice``'s own timings and timings
    transferred from ``reference`` by DTW; also the share of phones matched."""
    from emotive.generators.speech.voices import render

    va = render(voice, texts, sr)
    vr = render(reference, texts, sr)
    errs, matched, total = [], 0, 0
    for a, r in zip(va, vr):
        moved = transfer_boundaries(r.audio, r.phones, a.audio, sr)
        e = boundary_errors(a.phones, moved)
        errs.append(e)
        matched += len(e)
        total += sum(p["phone"] != "pau" for p in a.phones)
    e = np.concatenate(errs) if errs else np.zeros(0)
    return {"voice": voice, "reference": reference, "mae_ms": float(e.mean() * 1000) if e.size else float("nan"),
            "median_ms": float(np.median(e) * 1000) if e.size else float("nan"),
            "within_20ms": float((e <= 0.02).mean()) if e.size else float("nan"),
            "matched_share": matched / max(1, total), "phones": int(e.size)}
