"""``emotive speak --batch lines.csv --out-dir DIR``: many lines (dubbing, audiobooks, game dialogue) in one run.

Rows (CSV with a header, or JSON Lines): ``text`` (required; inline tags allowed), ``emotion``, ``voice``, ``name``
(the output's file name, default the row number ``0001``), ``seed`` (default ``--seed``). Every row is checked
before anything is rendered (one error line naming the row, exit 2).

Per row, ``DIR/NAME.wav`` and ``DIR/NAME.json`` (the row, timings and its verdict: Distill-MOS, Whisper WER and
transcript, the recognised emotion) are written together, atomically; a row whose pair exists with the same inputs
is skipped, so a killed run resumes where it stopped and never leaves a half-written file. At the end
``DIR/manifest.csv`` lists every row in input order.

Scale-out: under ``accelerate launch --num_processes N`` (processes here; nodes elsewhere, unchanged) process ``i``
renders rows ``i, i+N, ...`` with ``cores / N`` threads; the main process merges the records into the manifest
after all have finished.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from emotive.conditioning import EmotiveError

COLUMNS = ("text", "emotion", "voice", "name", "seed")
MAX_ROWS = 100_000
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MANIFEST = "manifest.csv"
MANIFEST_FIELDS = ("name", "file", "status", "text", "emotion", "voice", "seed", "duration_s", "segments",
                   "render_s", "mos", "wer", "transcript", "heard", "p_target", "matches", "process")


@dataclass(frozen=True)
class Row:
    """One line to speak, as read from the batch file (``emotion`` / ``voice`` with the command's defaults)."""

    name: str
    text: str
    emotion: str
    voice: str
    seed: int


def read_rows(path: str, default_emotion: str, default_voice: str, default_seed: int) -> list[Row]:
    """The batch file -> rows; raises one :class:`EmotiveError` naming the file and row for anything malformed."""
    from emotive.apps.seeds import check_seed

    p = Path(path)
    if not p.is_file():
        raise EmotiveError(f"The batch file '{path}' does not exist.")
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise EmotiveError(f"'{p.name}': a batch is a .csv (with a header) or a .jsonl file.")
    try:
        raw_text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise EmotiveError(f"'{p.name}' is not UTF-8 text.") from None
    raw: list[tuple[int, dict]] = []
    if suffix == ".csv":
        reader = csv.DictReader(raw_text.splitlines())
        fields = [f.strip() for f in (reader.fieldnames or [])]
        unknown = [f for f in fields if f not in COLUMNS]
        if "text" not in fields or unknown:
            raise EmotiveError(f"'{p.name}': the header must name a text column and only {', '.join(COLUMNS)}"
                               + (f" (unknown: {', '.join(unknown)[:80]})" if unknown else "") + ".")
        for i, rec in enumerate(reader, 2):
            if None in rec:
                raise EmotiveError(f"'{p.name}' line {i}: more values than columns.")
            raw.append((i, {k.strip(): v for k, v in rec.items()}))
    else:
        for i, line in enumerate(raw_text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise EmotiveError(f"'{p.name}' line {i}: not JSON ({e.msg}).") from None
            if not isinstance(rec, dict) or "text" not in rec or set(rec) - set(COLUMNS):
                raise EmotiveError(f"'{p.name}' line {i}: an object with \"text\" and only {', '.join(COLUMNS)}.")
            raw.append((i, rec))
    if not raw:
        raise EmotiveError(f"'{p.name}' has no rows.")
    if len(raw) > MAX_ROWS:
        raise EmotiveError(f"'{p.name}' has {len(raw)} rows; the limit is {MAX_ROWS}. Split it.")
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for n, (line, rec) in enumerate(raw, 1):
        where = f"'{p.name}' line {line}"
        text = rec.get("text")
        if not isinstance(text, str) or not text.strip():
            raise EmotiveError(f"{where}: the text is empty.")
        name = str(rec.get("name") or "").strip() or f"{n:04d}"
        if not NAME_RE.match(name):
            raise EmotiveError(f"{where}: the name {name[:40]!r} must be letters, digits, '.', '_' or '-' (a file "
                               "name without folders).")
        if name.lower() in seen:
            raise EmotiveError(f"{where}: the name {name!r} is already used on line {seen[name.lower()]}.")
        seen[name.lower()] = line
        seed_value = rec.get("seed")
        try:
            seed = check_seed(default_seed if seed_value in (None, "") else seed_value)
        except EmotiveError as e:
            raise EmotiveError(f"{where}: {e}") from None
        emotion = str(rec.get("emotion") or "").strip() or default_emotion
        voice = str(rec.get("voice") or "").strip() or default_voice
        rows.append(Row(name, text, emotion, voice, seed))
    return rows


def _check_rows(rows: list[Row], pipe, source: str) -> None:
    """Every row's emotion, voice and text (tags included) as the pipeline will take them; one error naming it."""
    from emotive.conditioning import Emotion

    for i, r in enumerate(rows, 1):
        try:
            emo = Emotion.parse(r.emotion)
            voice = pipe.voice_bank.canonical(r.voice)
            pipe.plan(r.text, emo, voice)
        except EmotiveError as e:
            raise EmotiveError(f"'{Path(source).name}' row {i} ({r.name}): {e}") from None


def _done(out_dir: Path, row: Row) -> bool:
    """The row's WAV and record exist and the record was made from the same inputs."""
    wav, rec = out_dir / f"{row.name}.wav", out_dir / f"{row.name}.json"
    if not (wav.is_file() and rec.is_file()):
        return False
    try:
        return json.loads(rec.read_text(encoding="utf-8")).get("row") == asdict(row)
    except (OSError, ValueError):
        return False


class _Judges:
    """Verdict of one row: Distill-MOS, Whisper tiny.en WER + transcript, the speech emotion recogniser."""

    def __init__(self) -> None:
        from emotive.evaluators.speech.ser import SpeechEmotionRecognizer

        self.ser = SpeechEmotionRecognizer.from_pretrained()

    def __call__(self, wav, sr: int, emotion, text: str) -> dict:
        import numpy as np

        from emotive.evaluators.speech.naturalness import naturalness

        v = self.ser.evaluate(wav, emotion, sr=sr, text=text)
        return {"mos": round(float(naturalness(wav, sr)), 3), "wer": round(float(v.figures.get("wer", float("nan"))), 4),
                "transcript": v.figures.get("transcript", ""), "heard": v.label,
                "p_target": round(float(np.dot(np.asarray(v.probs), np.asarray(emotion.probs))), 4),
                "matches": bool(v.matches)}


def run_batch(args: argparse.Namespace) -> int:
    import soundfile as sf
    import torch
    from tqdm import tqdm

    from emotive.conditioning import Emotion
    from emotive.conditioning.files import atomic_outputs
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline
    from emotive.generators.speech.tags import strip_tags

    if args.out_dir is None:
        raise EmotiveError("--batch needs --out-dir DIR for the rendered lines and the manifest.")
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise EmotiveError(f"--out-dir '{out_dir}' is a file; give a folder.")
    if not (out_dir.parent if str(out_dir.parent) else Path(".")).is_dir():
        raise EmotiveError(f"The folder '{out_dir.parent}' does not exist.")
    state = _distributed()
    rank, world = state.process_index, state.num_processes
    from emotive.apps.commands.speak import threads_option

    threads = threads_option(args) or max(1, (os.cpu_count() or 1) // world)
    torch.set_num_threads(threads)
    pipe = EmotionalSpeechPipeline.from_pretrained(model=args.kokoro_model, voices=args.kokoro_voices,
                                                   threads=threads)
    rows = read_rows(args.batch, args.emotion, args.voice or pipe.voices[0], args.seed)
    _check_rows(rows, pipe, args.batch)
    if state.is_main_process:
        out_dir.mkdir(exist_ok=True)
    state.wait_for_everyone()
    mine = rows[rank::world]
    todo = [r for r in mine if not _done(out_dir, r)]
    judges = _Judges() if not args.no_verdict else None
    t0 = time.perf_counter()
    for row in tqdm(todo, desc=f"speak batch [{rank + 1}/{world}]", unit="line", disable=rank != 0 and world > 1):
        t = time.perf_counter()
        emotion = Emotion.parse(row.emotion)
        out = pipe(row.text, emotion=emotion, voice=row.voice, engine=args.engine,
                   generator=torch.Generator().manual_seed(row.seed), num_candidates=args.candidates, pace=args.pace,
                   guidance_scale=args.guidance)
        rec = {"row": asdict(row), "file": f"{row.name}.wav", "status": "ok", "duration_s": round(out.duration, 3),
               "segments": [{"text": s.text, "start": round(s.start, 4), "end": round(s.end, 4),
                             "emotion": s.emotion.label, "voice": s.voice} for s in out.segments],
               "render_s": round(time.perf_counter() - t, 3), "process": rank}
        if judges is not None:
            rec["verdict"] = judges(out.waveform, out.sample_rate, emotion, strip_tags(row.text))
        with atomic_outputs([out_dir / f"{row.name}.wav", out_dir / f"{row.name}.json"], overwrite=True,
                            suffixes=[(".wav",), (".json",)]) as (wtmp, jtmp):
            sf.write(str(wtmp), out.waveform, out.sample_rate, subtype="PCM_16", format="WAV")
            jtmp.write_text(json.dumps(rec, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    took = time.perf_counter() - t0
    print(f"process {rank + 1}/{world}: rendered {len(todo)} line(s), skipped {len(mine) - len(todo)} already "
          f"done, {took:.1f} s ({len(todo) / took if took > 0 and todo else 0:.2f} lines/s, {threads} thread(s))")
    state.wait_for_everyone()
    if state.is_main_process:
        _write_manifest(out_dir, rows)
        print(f"{out_dir / MANIFEST}: {len(rows)} row(s)")
    return 0


def _write_manifest(out_dir: Path, rows: list[Row]) -> None:
    from emotive.conditioning.files import atomic_output

    lines = []
    for r in rows:
        rec_path = out_dir / f"{r.name}.json"
        try:
            rec = json.loads(rec_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rec = {"status": "missing"}
        v = rec.get("verdict", {})
        lines.append({"name": r.name, "file": rec.get("file", ""), "status": rec.get("status", "missing"),
                      "text": r.text, "emotion": r.emotion, "voice": r.voice, "seed": r.seed,
                      "duration_s": rec.get("duration_s", ""), "segments": len(rec.get("segments", [])),
                      "render_s": rec.get("render_s", ""), "process": rec.get("process", ""),
                      **{k: v.get(k, "") for k in ("mos", "wer", "transcript", "heard", "p_target", "matches")}})
    with atomic_output(out_dir / MANIFEST, overwrite=True, suffixes=(".csv",)) as tmp, \
            open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
        w.writeheader()
        w.writerows(lines)


def _distributed():
    """accelerate's process state (one process when not launched by ``accelerate launch``)."""
    from accelerate import PartialState

    return PartialState(cpu=True)
