"""Speech for real workflows (issue 21): inline tags, subtitles, streaming, the OpenAI-compatible server, batch.

- Tags: Whisper WER of "[happy] first half [sad] second half" against the words without tags, beside the engine's
  own WER on the same sentences without tags; in tagged pairs (across a sentence break and inside one sentence) each
  part's F0 and loudness against the same part spoken neutrally, and the happy-sad F0 gap; the largest
  sample-to-sample jump at each change against the local signal level (a click would exceed it).
- Subtitles: cue starts/ends against the engine's word boundaries; the last cue's end against the audio's end.
- Streaming: first chunk of a 3-sentence text (warm pipeline, and first byte from the warm server); the joined
  stream against the whole render.
- Server (``emotive serve`` in a subprocess on a free loopback port): 20 concurrent requests (served or 429, none
  lost), p50/p95 latency, resident memory after warm-up and after N more requests, bad requests -> 4xx JSON.
- Batch: the same lines with 1 process on 1 core, 1 process using both cores through threads (the default without
  ``accelerate``), and 2 processes (``accelerate launch``, a core each): rows/s and the speed-ups; a run killed mid-way, then resumed: rows redone, files left half-written.
The machine's load is recorded by the runner; a busy machine slows every timing here.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from emotive.apps.bench.runner import BenchContext, BenchResult, register

PAIRS = {
    "sentences": ("[happy] We finally won the match today!", "[sad] But our captain is leaving the team."),
    "one sentence": ("[happy] I was so glad to see you again,", "[sad] but now you have to leave."),
}
STREAM_TEXT = "I looked everywhere for my keys. They were in the door all along. What a morning!"
ROUND = 3


def _prosody(x: np.ndarray, sr: int) -> tuple[float, float]:
    """Median F0 (semitones re 100 Hz) and active-speech loudness (dB)."""
    from emotive.evaluators.speech.features import f0_contour

    _, st = f0_contour(x, sr)
    hop = sr // 100
    fr = x[: len(x) // hop * hop].reshape(-1, hop)
    e = 10 * np.log10(np.mean(fr.astype(np.float64) ** 2, 1) + 1e-12)
    e = e[e > e.max() - 35]
    return (float(np.median(st)) if len(st) else float("nan"), float(10 * np.log10(np.mean(10 ** (e / 10)))))


def _part(out, i: int) -> np.ndarray:
    s = out.segments[i]
    return out.waveform[int(s.start * out.sample_rate):int(s.end * out.sample_rate)]


def _click_ratio(out) -> float:
    """Largest |x[n+1] - x[n]| within 2 ms of each segment boundary / the peak |x| within 50 ms (the local level)."""
    sr, x, worst = out.sample_rate, out.waveform, 0.0
    for s in out.segments[1:]:
        k = round(s.start * sr)
        near = x[max(0, k - sr // 500):k + sr // 500]
        local = x[max(0, k - sr // 20):k + sr // 20]
        worst = max(worst, float(np.abs(np.diff(near)).max() / max(np.abs(local).max(), 1e-6)))
    return worst


def _tags(ctx: BenchContext, res: BenchResult, pipe) -> None:
    import torch

    from emotive.evaluators.speech.asr import error_rates, transcribe
    from emotive.generators.speech.subtitles import make_cues
    from emotive.generators.speech.tags import strip_tags

    from .speech_kokoro import _test_sentences

    sentences = _test_sentences(3 if ctx.quick else 8)
    refs, tagged_hyp, plain_hyp = [], [], []
    cue_err, last_gap = [], []
    for i, text in enumerate(sentences):
        words = text.split()
        h = len(words) // 2
        tagged = f"[happy] {' '.join(words[:h])} [sad] {' '.join(words[h:])}"
        g = torch.Generator
        out = pipe(tagged, generator=g().manual_seed(i))
        refs.append(text)
        tagged_hyp.append(transcribe(out.waveform, out.sample_rate))
        for emo in ("happy", "sad"):
            plain = pipe(text, emotion=emo, generator=g().manual_seed(i))
            plain_hyp.append(transcribe(plain.waveform, plain.sample_rate))
        cues = make_cues(out.segments, out.duration)
        starts = np.array([w.start for s in out.segments for w in s.words])
        ends = np.array([w.end for s in out.segments for w in s.words])
        cue_err += [float(np.abs(starts - c.start).min()) for c in cues]
        cue_err += [float(np.abs(ends - c.end).min()) for c in cues[:-1]]
        last_gap.append(abs(cues[-1].end - out.duration))
        assert strip_tags(tagged).split() == words
    wer_tagged = error_rates(refs, tagged_hyp)[0]
    wer_plain = error_rates([r for r in refs for _ in (0, 1)], plain_hyp)[0]
    res.figures["tags_wer_tagged"] = round(float(wer_tagged), ROUND)
    res.figures["tags_wer_untagged"] = round(float(wer_plain), ROUND)
    res.figures["tags_wer_excess_points"] = round(100 * float(wer_tagged - wer_plain), 2)
    res.target("tags_wer_excess_points", "<=", 2.0, "WER of tagged text minus the engine's WER on the same "
               "sentences untagged (happy and sad takes), percentage points (no tag spoken)")
    res.table("Tagged sentences: what Whisper heard", ["reference", "heard (tagged)"],
              [[r, h] for r, h in zip(refs, tagged_hyp)])
    res.figures["subtitles_cue_error_ms_max"] = round(1000 * max(cue_err), 2)
    res.figures["subtitles_last_cue_gap_s"] = round(max(last_gap), ROUND)
    res.target("subtitles_cue_error_ms_max", "<=", 50.0, "largest distance of a cue boundary from the engine's "
               "word boundary (ms)")
    res.target("subtitles_last_cue_gap_s", "<=", 0.25, "last cue end vs the end of the audio (s)")

    rows, gaps, clicks = [], [], []
    for kind, (a, b) in PAIRS.items():
        out = pipe(f"{a} {b}", generator=torch.Generator().manual_seed(ctx.seed))
        parts = [_prosody(_part(out, i), out.sample_rate) for i in (0, 1)]
        neutral = [_prosody(pipe(strip_tags(t), emotion="neutral").waveform, out.sample_rate) for t in (a, b)]
        toward = parts[0][0] > neutral[0][0] and parts[1][0] < neutral[1][0] and \
            parts[0][1] > neutral[0][1] and parts[1][1] < neutral[1][1]
        gaps.append(parts[0][0] - parts[1][0])
        clicks.append(_click_ratio(out))
        rows.append([kind, f"{parts[0][0]:+.1f} / {neutral[0][0]:+.1f}", f"{parts[1][0]:+.1f} / {neutral[1][0]:+.1f}",
                     f"{parts[0][1]:.1f} / {neutral[0][1]:.1f}", f"{parts[1][1]:.1f} / {neutral[1][1]:.1f}",
                     f"{gaps[-1]:.1f}", "yes" if toward else "NO", f"{clicks[-1]:.3f}"])
        res.figures[f"tags_toward_{kind.replace(' ', '_')}"] = bool(toward)
    res.table("Tag pairs: F0 (st re 100 Hz) and loudness (dB), tagged part / same words neutral",
              ["pair", "happy F0", "sad F0", "happy dB", "sad dB", "F0 gap st", "both toward", "click ratio"], rows)
    res.figures["tags_f0_gap_st_min"] = round(float(min(gaps)), 2)
    res.figures["tags_click_ratio_max"] = round(float(max(clicks)), 4)
    res.target("tags_f0_gap_st_min", ">=", 2.0, "happy part F0 minus sad part F0 in a [happy] ... [sad] pair (st)")
    res.target("tags_click_ratio_max", "<=", 1.0, "largest sample jump at a change / local signal level")


def _stream(ctx: BenchContext, res: BenchResult) -> None:
    """The first chunk from a pipeline as ``from_pretrained()`` makes it on this machine (2 threads on 2 cores)."""
    import torch

    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    pipe = EmotionalSpeechPipeline.from_pretrained(threads=min(4, os.cpu_count() or 1))
    pipe("Warm up.")
    firsts = []
    for _ in range(3):
        t = time.perf_counter()
        it = pipe.stream(STREAM_TEXT, emotion="happy", generator=torch.Generator().manual_seed(1))
        first = next(it)
        firsts.append(time.perf_counter() - t)
        rest = list(it)
    joined = np.concatenate([first.waveform, *(c.waveform for c in rest)])
    whole = pipe(STREAM_TEXT, emotion="happy", generator=torch.Generator().manual_seed(1)).waveform
    res.figures["stream_first_chunk_s"] = round(float(np.median(firsts)), ROUND)
    res.figures["stream_equals_whole"] = bool(np.array_equal(joined, whole))
    res.target("stream_first_chunk_s", "<=", 1.0, "first chunk of a 3-sentence text, warm pipeline with its default "
               "threads (median of 3)")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _server(ctx: BenchContext, res: BenchResult) -> None:
    import httpx

    from emotive.apps.server.process import serve

    # the server as a user starts it: its default threads (both cores here), one render at a time
    with serve("--workers", "1", "--queue", "8", timeout=180, threads=None, capture=False) as (proc, url):
        speech = url + "/v1/audio/speech"

        def post(body: dict) -> tuple[int, float]:
            t = time.perf_counter()
            r = httpx.post(speech, json=body, timeout=300)
            return r.status_code, time.perf_counter() - t

        ttfb = []
        for _ in range(3):
            t = time.perf_counter()
            with httpx.stream("POST", speech, json={"input": STREAM_TEXT, "response_format": "pcm"}, timeout=300) as r:
                raw = r.iter_raw()
                next(raw)
                ttfb.append(time.perf_counter() - t)
                for _chunk in raw:
                    pass
        res.figures["server_first_byte_s"] = round(float(np.median(ttfb)), ROUND)
        res.target("server_first_byte_s", "<=", 1.0, "first audio byte of a 3-sentence text from the warm server")
        with ThreadPoolExecutor(20) as pool:
            got = list(pool.map(lambda i: post({"input": f"This is request number {i}.", "response_format": "wav"}),
                                range(20)))
        codes = [c for c, _ in got]
        lat = sorted(t for c, t in got if c == 200)
        res.figures["server_20_served"] = codes.count(200)
        res.figures["server_20_refused_429"] = codes.count(429)
        res.figures["server_20_lost"] = 20 - codes.count(200) - codes.count(429)
        res.figures["server_p50_s"] = round(float(np.percentile(lat, 50)), ROUND) if lat else None
        res.figures["server_p95_s"] = round(float(np.percentile(lat, 95)), ROUND) if lat else None
        res.target("server_20_lost", "<=", 0, "of 20 concurrent requests, answered neither 200 nor 429")
        bad = [{"input": ""}, {"input": "a " * 50_000}, {"input": "Hi.", "voice": "nobody"}, '{"input":"Hi.","speed":NaN}',
               {"input": 5}, {"input": "Hi.", "seed": "x"}, {"input": "Hi [sad"}, "{oops"]
        ok_bad = 0
        for b in bad:
            r = httpx.post(speech, content=b if isinstance(b, str) else json.dumps(b),
                           headers={"content-type": "application/json"}, timeout=60)
            ok_bad += int(400 <= r.status_code < 500 and "message" in r.json().get("error", {}))
        res.figures["server_bad_requests_4xx_json"] = f"{ok_bad}/{len(bad)}"
        res.figures["server_bad_requests_failed"] = len(bad) - ok_bad
        res.target("server_bad_requests_failed", "<=", 0, "bad requests not answered with 4xx OpenAI-shaped JSON")
        n = 40 if ctx.quick else 200
        rss0 = _rss_mb(proc.pid)
        for i in range(n):
            post({"input": f"Short line {i % 7}.", "response_format": "pcm", "seed": i})
            if i == n // 2 - 1:
                rss_half = _rss_mb(proc.pid)
        rss1 = _rss_mb(proc.pid)
        res.figures["server_rss_mb_warm"] = round(rss0, 1)
        res.figures["server_rss_mb_after_half"] = round(rss_half, 1)
        res.figures[f"server_rss_mb_after_{n}"] = round(rss1, 1)
        res.figures["server_rss_growth_second_half_mb"] = round(rss1 - rss_half, 1)
        res.target("server_rss_growth_second_half_mb", "<=", 50.0, f"resident memory growth over requests "
                   f"{n // 2 + 1}-{n} (flat = no leak)")
        res.figures["server_alive_after"] = httpx.get(url + "/health", timeout=10).status_code == 200


def _batch(ctx: BenchContext, res: BenchResult) -> None:
    from .speech_kokoro import _test_sentences

    n = 40 if ctx.quick else 200
    texts = (_test_sentences(40) * (n // 40 + 1))[:n]
    emos = ["happy", "sad", "angry", "calm", "neutral", "fearful", "surprised", "disgusted"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    em = [sys.executable, "-m", "emotive.apps.cli", "speak"]
    acc = [str(Path(sys.executable).with_name("accelerate")), "launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "emotive.apps.cli",
           "speak"]
    with tempfile.TemporaryDirectory(prefix="emotive-bench-batch-") as tmp:
        lines = Path(tmp) / "lines.csv"
        with open(lines, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "emotion", "seed"])
            for i, t in enumerate(texts):
                w.writerow([t, emos[i % len(emos)], i])
        rates: dict[str, float] = {}
        steady: dict[str, float] = {}
        # per core: 1 process on 1 core (1 thread) -> 2 processes on 2 cores (1 thread each, the batch's own share);
        # and against 1 process that uses both cores through threads (what a run without accelerate does here)
        runs = (("1proc_1core", [*em, "--threads", "1"]), ("1proc_2threads", em), ("2proc", acc))
        for key, cmd in runs:
            out = Path(tmp) / f"out_{key}"
            t = time.perf_counter()
            r = subprocess.run([*cmd, "--batch", str(lines), "--out-dir", str(out), "--no-verdict"], env=env,
                               capture_output=True, text=True, timeout=7200)
            dt = time.perf_counter() - t
            if r.returncode != 0:
                res.notes.append(f"batch run {key} failed: {r.stderr[-300:]}")
                return
            rates[key] = n / dt
            res.figures[f"batch_{key}_rows_per_s"] = round(n / dt, ROUND)
            steady[key] = sum(float(m) for m in re.findall(r"\(([0-9.]+) lines/s", r.stdout))
        res.figures["batch_lines"] = n
        res.figures["batch_speedup_2proc"] = round(rates["2proc"] / rates["1proc_1core"], ROUND)
        res.figures["batch_speedup_2proc_rendering"] = (round(steady["2proc"] / steady["1proc_1core"], ROUND)
                                                        if steady["1proc_1core"] else None)
        res.figures["batch_speedup_2proc_vs_1proc_2threads"] = round(rates["2proc"] / rates["1proc_2threads"], ROUND)
        res.target("batch_speedup_2proc", ">=", 1.6, f"rows/s, 2 processes on 2 cores / 1 process on 1 core ({n} lines, "
                   "no verdict, wall time including start-up): the speed-up per core of scaling out")
        # killed mid-way, then resumed
        out = Path(tmp) / "killed"
        proc = subprocess.Popen([*em, "--batch", str(lines), "--out-dir", str(out), "--no-verdict"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and len(list(out.glob("*.json"))) < max(2, n // 6):
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = {p.stem: p.stat().st_mtime_ns for p in out.glob("*.wav") if (out / f"{p.stem}.json").exists()}
        r = subprocess.run([*em, "--batch", str(lines), "--out-dir", str(out), "--no-verdict"], env=env,
                           capture_output=True, text=True, timeout=7200)
        redone = sum(1 for k, v in done.items() if (out / f"{k}.wav").stat().st_mtime_ns != v)
        leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
        with open(out / "manifest.csv", newline="") as f:
            ok = sum(1 for m in csv.DictReader(f) if m["status"] == "ok")
        res.figures["batch_resume_done_before_kill"] = len(done)
        res.figures["batch_resume_redone"] = redone
        res.figures["batch_resume_leftover_files"] = len(leftovers)
        res.figures["batch_resume_rows_ok"] = f"{ok}/{n}" + ("" if r.returncode == 0 else f" (exit {r.returncode})")
        res.figures["batch_resume_problems"] = redone + len(leftovers) + (n - ok)
        res.target("batch_resume_problems", "<=", 0, "after a kill -9 and a rerun: rows redone + half-written "
                   "files left + rows missing")


@register("speech-workflows", "Speech for real workflows (tags, subtitles, streaming, server, batch)", "speech",
          order=36)
def bench_speech_workflows(ctx: BenchContext) -> BenchResult:
    import torch

    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    torch.set_num_threads(1)
    res = BenchResult()
    pipe = EmotionalSpeechPipeline.from_pretrained(threads=1)
    pipe("Warm up.")
    timings, failed = {}, []
    for name, step in (("tags+subtitles", lambda: _tags(ctx, res, pipe)), ("streaming", lambda: _stream(ctx, res)),
                       ("server", lambda: _server(ctx, res)), ("batch", lambda: _batch(ctx, res))):
        t = time.perf_counter()
        try:   # one section's failure is reported without losing the others' figures
            step()
        except Exception as exc:
            failed.append(name)
            res.notes.append(f"section {name} failed: {type(exc).__name__}: {str(exc)[:300]}")
        timings[name] = round(time.perf_counter() - t, 1)
    res.figures["sections_failed"] = len(failed)
    res.target("sections_failed", "<=", 0, "sections that raised (see the notes)")
    res.notes.append("section times (s): " + ", ".join(f"{k} {v}" for k, v in timings.items())
                     + f"; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return res
