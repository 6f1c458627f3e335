"""Training data from the music21 corpus: melodies on a sixteenth-note grid, one 4/4 bar at a time.

Texture modelled: **a single melodic line** (monophonic). Sources (all in the
music21 wheel, public-domain 18th/19th-century music; see NOTICE.md):

- ``oneills1850``: O'Neill's *Music of Ireland* (1850 tunes, abc) - reels, hornpipes, airs;
- ``ryansMammoth``: *Ryan's Mammoth Collection* (1883, abc) - reels, hornpipes, marches;
- ``airdsAirs``: Aird's *Selection of Scotch, English, Irish and Foreign Airs* (1782-97, abc);
- ``bach``: J. S. Bach's chorales - the soprano (melody) part only.

The Essen folk-song collection (non-commercial licence) is **not** used.

How a score becomes bars: the first part is taken (for chorales, the soprano),
ties are merged, chords keep their top note, grace notes are dropped, onsets and
durations are rounded to sixteenths, and a pickup bar is padded so that bar lines
fall on multiples of four beats. Pieces in 4/4, 2/2 and 2/4 are kept (two 2/4
measures make one 4-beat bar); triple and compound metres are skipped. Every
piece is transposed so that its Krumhansl-Schmuckler tonic is C (mode kept:
C major or C minor) within MIDI 48-91; the key and register are chosen again at
render time.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotive.evaluators.music.attributes import NoteList, estimate_key

STEPS_PER_BAR = 16
DEFAULT_COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "bach")
PITCH_LOW, PITCH_HIGH = 48, 91  # the model's pitch range after normalisation (C3-G6)
CACHE_VERSION = 1

Note16 = tuple[int, int, int]  # (step within bar 0..15, MIDI pitch, length in steps >= 1)


@dataclass
class Tune:
    """One melody: bars of (step, pitch, length) notes, tonic normalised to C."""

    source: str  # "<collection>/<file>#<index>"
    title: str
    mode: str  # "major" | "minor" (Krumhansl-Schmuckler, after normalisation)
    bars: list[list[Note16]]

    def to_notelist(self, tempo_bpm: float = 120.0, velocity: int = 80) -> NoteList:
        rows = [
            ((b * STEPS_PER_BAR + s) / 4.0, d / 4.0, p, velocity) for b, bar in enumerate(self.bars) for s, p, d in bar
        ]
        return NoteList.from_tuples(rows, tempo_bpm, 4.0)


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def collection_files(name: str) -> list[Path]:
    """Score files of one collection (bach: chorales only, by music21's BWV 25x-4xx numbering)."""
    root = corpus_root() / name
    if name == "bach":
        return sorted(p for p in root.iterdir() if p.suffix in (".mxl", ".xml", ".krn") and p.name.startswith("bwv"))
    return sorted(p for p in root.iterdir() if p.suffix == ".abc")


def _bar_quarters(score) -> float | None:
    from music21 import meter

    ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    if ts is None:
        return 4.0
    if (ts.numerator, ts.denominator) in ((4, 4), (2, 2)):
        return 4.0
    if (ts.numerator, ts.denominator) == (2, 4):
        return 2.0
    return None


def score_to_tune(score, source: str) -> Tune | None:
    """A music21 Score -> a :class:`Tune`, or None if the piece does not fit the model (metre, length, grid)."""
    from music21 import chord, note, stream

    measure_q = _bar_quarters(score)
    if measure_q is None:
        return None
    parts = list(score.parts) if score.parts else [score]
    sopranos = [p for p in parts if "soprano" in str(p.partName or "").lower()]
    part = sopranos[0] if sopranos else parts[0]
    measures = part.getElementsByClass(stream.Measure)
    shift = 0.0
    if len(measures):
        first = measures[0]
        dur = float(first.duration.quarterLength)
        if 0 < dur < measure_q:
            shift = measure_q - dur
    try:
        flat = part.stripTies().flatten()
    except Exception:
        flat = part.flatten()
    rows = []
    off_grid = 0
    for el in flat.notes:
        if el.duration.isGrace or float(el.duration.quarterLength) <= 0:
            continue
        if isinstance(el, chord.Chord):
            pitch = max(p.midi for p in el.pitches)
        elif isinstance(el, note.Note):
            pitch = el.pitch.midi
        else:
            continue
        on = (float(el.offset) + shift) * 4
        du = float(el.duration.quarterLength) * 4
        if abs(on - round(on)) > 0.05:
            off_grid += 1
        rows.append((round(on), max(1, round(du)), int(pitch)))
    if len(rows) < 16 or off_grid > 0.1 * len(rows):
        return None
    pitches = np.array([r[2] for r in rows])
    nl = NoteList.from_tuples([(r[0] / 4, r[1] / 4, r[2], 80) for r in rows])
    key = estimate_key(nl)
    t = -key.tonic if key.tonic <= 6 else 12 - key.tonic
    lo, hi = pitches.min() + t, pitches.max() + t
    while lo < PITCH_LOW and hi + 12 <= PITCH_HIGH:
        t, lo, hi = t + 12, lo + 12, hi + 12
    while hi > PITCH_HIGH and lo - 12 >= PITCH_LOW:
        t, lo, hi = t - 12, lo - 12, hi - 12
    if lo < PITCH_LOW or hi > PITCH_HIGH:
        return None
    # monophonic: one note per step (the first/top); clip lengths at the next onset and the bar line
    by_step: dict[int, tuple[int, int]] = {}
    for s, d, p in sorted(rows, key=lambda r: (r[0], -r[2])):
        by_step.setdefault(s, (d, p + t))
    steps = sorted(by_step)
    n_bars = steps[-1] // STEPS_PER_BAR + 1
    bars: list[list[Note16]] = [[] for _ in range(n_bars)]
    for i, s in enumerate(steps):
        d, p = by_step[s]
        nxt = steps[i + 1] if i + 1 < len(steps) else s + d
        bar_end = (s // STEPS_PER_BAR + 1) * STEPS_PER_BAR
        d = max(1, min(d, nxt - s, bar_end - s))
        bars[s // STEPS_PER_BAR].append((s % STEPS_PER_BAR, p, d))
    while bars and not bars[-1]:
        bars.pop()
    if len(bars) < 4:
        return None
    title = ""
    if score.metadata is not None and score.metadata.title:
        title = str(score.metadata.title)
    return Tune(source, title, key.mode, bars)


def parse_file(path: Path, collection: str) -> list[Tune]:
    """All usable tunes of one corpus file (an abc file may hold many)."""
    from music21 import converter, stream

    try:
        parsed = converter.parse(str(path), forceSource=True)
    except Exception:
        return []
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    out = []
    for i, sc in enumerate(scores):
        try:
            tune = score_to_tune(sc, f"{collection}/{path.name}#{i}")
        except Exception:
            tune = None
        if tune is not None:
            out.append(tune)
    return out


def iter_corpus(
    cache_dir: str | Path, collections: tuple[str, ...] = DEFAULT_COLLECTIONS, limit_files: int | None = None
) -> Iterator[tuple[str, list[Tune]]]:
    """Parse the collections file by file, caching each file's tunes (resumable)."""
    cache = Path(cache_dir) / f"parsed_v{CACHE_VERSION}"
    cache.mkdir(parents=True, exist_ok=True)
    for coll in collections:
        files = collection_files(coll)
        if limit_files is not None:
            files = files[:limit_files]
        for f in files:
            c = cache / f"{coll}__{f.name}.pkl"
            if c.is_file():
                with open(c, "rb") as fh:
                    tunes = pickle.load(fh)
            else:
                tunes = parse_file(f, coll)
                tmp = c.with_suffix(".tmp")
                with open(tmp, "wb") as fh:
                    pickle.dump(tunes, fh)
                os.replace(tmp, c)
            yield f"{coll}/{f.name}", tunes


def load_corpus(
    cache_dir: str | Path,
    collections: tuple[str, ...] = DEFAULT_COLLECTIONS,
    limit_files: int | None = None,
    progress: bool = True,
) -> list[Tune]:
    """Every tune of the collections (parsed once, then from the cache), deduplicated by content."""
    from tqdm import tqdm

    files = [(c, f) for c in collections for f in collection_files(c)[: limit_files or None]]
    tunes: list[Tune] = []
    seen: set = set()
    it = iter_corpus(cache_dir, collections, limit_files)
    for _, ts in tqdm(it, total=len(files), desc="music21 corpus", disable=not progress):
        for t in ts:
            sig = tuple(tuple(b) for b in t.bars[:8])
            if sig in seen:
                continue
            seen.add(sig)
            tunes.append(t)
    return tunes


def split_tunes(tunes: list[Tune], held_out: float = 0.05, seed: int = 0) -> tuple[list[Tune], list[Tune]]:
    """A fixed piece-level train / held-out split."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(tunes))
    n_test = max(1, round(held_out * len(tunes)))
    test = {int(i) for i in idx[:n_test]}
    return [t for i, t in enumerate(tunes) if i not in test], [t for i, t in enumerate(tunes) if i in test]


if __name__ == "__main__":  # pragma: no cover - data preparation entry point
    import sys

    from emotive.generators.music import data as _data  # pickle Tune under its module name, not __main__

    out = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/music"
    ts = _data.load_corpus(out)
    print(len(ts), "tunes", sum(len(t.bars) for t in ts), "bars")
