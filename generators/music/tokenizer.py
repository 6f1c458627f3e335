"""Bars <-> REMI tokens (miditok), one fixed-length token row per bar.

miditok's REMI (Huang & Yang, 2020) writes a bar as ``Bar Position Pitch Duration
Position Pitch Duration ...``. We keep its vocabulary and codec and cut the
stream at ``Bar`` tokens: a bar becomes ``[Position, Pitch, Duration]*n + EOS``,
padded with PAD to ``bar_len`` (16 notes at most: a monophonic line on a
sixteenth grid). Velocity, tempo and time signature are not tokens: they are
render-time attributes (the abc sources carry no performance dynamics or tempo).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emotive.conditioning import EmotiveError

STEPS_PER_BAR = 16
MAX_NOTES_PER_BAR = 16
BAR_LEN = 3 * MAX_NOTES_PER_BAR + 1  # + EOS


class BarTokenizer:
    """Wraps a miditok REMI tokenizer for monophonic 4/4 bars on a sixteenth grid.

    Args:
        pitch_low, pitch_high: pitch range (MIDI numbers, inclusive).
    """

    def __init__(self, pitch_low: int = 48, pitch_high: int = 91) -> None:
        from miditok import REMI, TokenizerConfig

        cfg = TokenizerConfig(
            pitch_range=(pitch_low, pitch_high + 1),
            beat_res={(0, 4): 4},
            use_velocities=False,
            use_tempos=False,
            use_time_signatures=False,
            use_programs=False,
            use_chords=False,
            use_rests=False,
            use_sustain_pedals=False,
            use_pitch_bends=False,
        )
        self.remi = REMI(cfg)
        self.pitch_low, self.pitch_high = pitch_low, pitch_high
        self.vocab: dict[str, int] = dict(self.remi.vocab)
        self.inv = {i: t for t, i in self.vocab.items()}
        self.pad_id = self.vocab["PAD_None"]
        self.eos_id = self.vocab["EOS_None"]
        self.bar_id = self.vocab["Bar_None"]
        self.bar_len = BAR_LEN

    def __len__(self) -> int:
        return len(self.vocab)

    # ------------------------------------------------------------------ encode
    def _score(self, bars: Sequence[Sequence[tuple[int, int, int]]]):
        import symusic

        score = symusic.Score(4)  # 4 ticks per quarter = sixteenths
        track = symusic.Track(program=0)
        for b, bar in enumerate(bars):
            for step, pitch, length in bar:
                track.notes.append(symusic.Note(b * STEPS_PER_BAR + int(step), int(length), int(pitch), 80))
        score.tracks.append(track)
        return score

    def encode_bars(self, bars: Sequence[Sequence[tuple[int, int, int]]]) -> np.ndarray:
        """Bars of ``(step 0..15, pitch, length in steps)`` -> ``[num_bars, bar_len]`` int64 token ids."""
        out = np.full((len(bars), self.bar_len), self.pad_id, dtype=np.int64)
        if not any(len(b) for b in bars):
            out[:, 0] = self.eos_id
            return out
        seq = self.remi.encode(self._score(bars))
        ids = (seq[0] if isinstance(seq, list) else seq).ids
        rows: list[list[int]] = []
        for t in ids:
            if t == self.bar_id:
                rows.append([])
            elif rows:
                rows[-1].append(t)
        for i in range(len(bars)):
            row = rows[i] if i < len(rows) else []
            row = [*row[: self.bar_len - 1], self.eos_id]
            out[i, : len(row)] = row
        return out

    # ------------------------------------------------------------------ decode
    def decode_bars(self, rows: np.ndarray | Sequence[Sequence[int]]) -> list[list[tuple[int, int, int]]]:
        """``[num_bars, bar_len]`` ids -> bars of ``(step, pitch, length)``.

        Reads the REMI grammar leniently (a model may emit it imperfectly): a note
        is a Pitch after a Position; a missing Duration means one step; notes are
        kept monophonic and inside the bar.
        """
        bars = []
        for row in rows:
            notes: dict[int, tuple[int, int]] = {}
            pos = None
            pending = None
            for t in row:
                t = int(t)
                if t in (self.eos_id, self.pad_id):
                    break
                name = self.inv.get(t, "")
                kind, _, val = name.partition("_")
                if kind == "Position":
                    pos = int(val)
                elif kind == "Pitch" and pos is not None:
                    pending = int(val)
                    notes.setdefault(pos, (pending, 1))
                elif kind == "Duration" and pos is not None and pending is not None:
                    a, b, res = (int(x) for x in val.split("."))
                    steps = max(1, round((a + b / res) * 4))
                    if notes.get(pos, (None,))[0] == pending:
                        notes[pos] = (pending, steps)
                    pending = None
            steps_sorted = sorted(notes)
            bar = []
            for i, s in enumerate(steps_sorted):
                p, d = notes[s]
                nxt = steps_sorted[i + 1] if i + 1 < len(steps_sorted) else STEPS_PER_BAR
                bar.append((s, p, max(1, min(d, nxt - s))))
            bars.append(bar)
        return bars

    def decode_with_miditok(self, rows: np.ndarray):
        """Decode through miditok's own REMI decoder -> ``symusic.Score`` (tpq 4) - a cross-check of the codec."""
        from miditok import TokSequence

        ids: list[int] = []
        for row in rows:
            ids.append(self.bar_id)
            for t in row:
                if int(t) in (self.eos_id, self.pad_id):
                    break
                ids.append(int(t))
        return self.remi.decode([TokSequence(ids=ids)])


# ------------------------------------------------------------------ the step grid the VQ-VAE reads
GRID_REST, GRID_HOLD = 0, 1  # then 2 + (pitch - pitch_low) = a note starting on this step


def bars_to_grid(bars: Sequence[Sequence[tuple[int, int, int]]], pitch_low: int, pitch_high: int) -> np.ndarray:
    """Monophonic bars -> ``[num_bars, 16]`` step symbols (rest / hold / onset of a pitch).

    A lossless fixed-length re-layout of a bar's REMI tokens (Position, Pitch, Duration
    triples of a monophonic line on a sixteenth grid), which lets the VQ-VAE be convolutional.
    """
    out = np.full((len(bars), STEPS_PER_BAR), GRID_REST, dtype=np.int64)
    for i, bar in enumerate(bars):
        for step, pitch, length in bar:
            p = min(max(int(pitch), pitch_low), pitch_high)
            out[i, step] = 2 + p - pitch_low
            end = min(STEPS_PER_BAR, step + max(1, length))
            out[i, step + 1 : end] = np.where(out[i, step + 1 : end] == GRID_REST, GRID_HOLD, out[i, step + 1 : end])
    return out


def grid_to_bars(grid: np.ndarray, pitch_low: int) -> list[list[tuple[int, int, int]]]:
    """Inverse of :func:`bars_to_grid` (holds after a rest are read as rests)."""
    bars = []
    for row in np.asarray(grid):
        bar: list[tuple[int, int, int]] = []
        for s, sym in enumerate(row):
            sym = int(sym)
            if sym >= 2:
                bar.append((s, pitch_low + sym - 2, 1))
            elif sym == GRID_HOLD and bar and bar[-1][0] + bar[-1][2] == s:
                st, p, d = bar[-1]
                bar[-1] = (st, p, d + 1)
        bars.append(bar)
    return bars


def remi_token_accuracy(tok: BarTokenizer, original: np.ndarray, reconstructed: np.ndarray) -> tuple[int, int]:
    """Position-wise agreement of two ``[N, bar_len]`` REMI rows over the original's non-PAD tokens."""
    m = original != tok.pad_id
    return int((original[m] == reconstructed[m]).sum()), int(m.sum())


def check_bars(bars: Sequence[Sequence[tuple[int, int, int]]], pitch_low: int = 0, pitch_high: int = 127) -> None:
    """Raise EmotiveError if bars are not a monophonic sixteenth-grid line in range."""
    for b, bar in enumerate(bars):
        for step, pitch, length in bar:
            if not (0 <= step < STEPS_PER_BAR and length >= 1 and pitch_low <= pitch <= pitch_high):
                raise EmotiveError(f"bar {b}: note ({step}, {pitch}, {length}) is outside the model's grid or range")
