"""``emotive speak "text" --emotion happy --voice jf_alpha -o out.wav``: emotional text-to-speech (Kokoro-82M with
the emotion inside its graph)."""

from __future__ import annotations

import argparse

from emotive.apps.seeds import add_seed_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "speak",
        help="say text with an emotion (Kokoro-82M voices, emotion applied inside the model)",
        description="Text -> English phonemes -> Kokoro's predicted durations and pitch, moved by the emotion's "
        "prosody rules (--engine codec-lm: sampled by the prosody LM instead) -> Kokoro's decoder -> 24 kHz WAV. "
        "Long text is split at sentences.",
    )
    p.add_argument("text", nargs="?", help="English text ('-' reads standard input); inline tags change the emotion "
                   "or voice from where they stand: [happy] ... [sad:0.6] ... [voice:jm_kumo] ... (\\[ = a bracket)")
    p.add_argument("--emotion", "-e", default="neutral", help="e.g. happy, 'sad:0.6', '0.7 sad + 0.3 angry', 'vad(0.5,0.6,0)'")
    p.add_argument("--voice", "-v", default=None,
                   help="a voice name (see --list-voices) or a same-gender blend, e.g. '0.6 jf_alpha + 0.4 jf_nezumi'")
    p.add_argument("--list-voices", action="store_true", help="print the voice names, one per line (default first)")
    p.add_argument("--engine", choices=("direct", "codec-lm"), default=None,
                   help="direct (default): the prosody rules straight into Kokoro's graph; codec-lm: the prosody LM's "
                   "tokens decoded by Kokoro (as natural on plain sentences, fewer word errors; slower, and weaker "
                   "on text with inline tags)")
    p.add_argument("-o", "--out", help="output WAV (24 kHz mono, 16-bit); '-' streams WAV to standard output, "
                   "sentence by sentence as each is ready")
    p.add_argument("--subtitles", metavar="FILE", help="also write the timings: .srt, .vtt, or .json (words, phones, "
                   "times and emotion per segment), from the engine's own durations")
    p.add_argument("--batch", metavar="LINES", help="render every row of a .csv or .jsonl (columns: text, emotion, "
                   "voice, name, seed) into --out-dir; resumable; runs under `accelerate launch` split by process")
    p.add_argument("--out-dir", help="folder of a --batch run (NAME.wav + NAME.json per row, manifest.csv)")
    p.add_argument("--no-verdict", action="store_true",
                   help="--batch: skip the per-row verdict (MOS, WER, recognised emotion), ~2x faster")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    add_seed_argument(p, "seed for jitter/tremor and the variation of extra takes")
    p.add_argument("--candidates", "-n", type=int, default=1,
                   help="takes per sentence (1-16), reranked by the judges (WER, emotion, naturalness)")
    p.add_argument("--pace", type=float, default=1.0, help=">1 slower, <1 faster (0.5-2)")
    p.add_argument("--guidance", type=float, default=None, metavar="G",
                   help="codec-lm: emotion strength, 0 = the neutral reading, 1 = the emotion as the LM speaks it "
                   "(default), >1 exaggerated (0-5); with the direct engine use the intensity (happy:0.5) instead")
    p.add_argument("--verdict", action="store_true",
                   help="also judge the result: naturalness (Distill-MOS), Whisper transcript and WER, recognised emotion")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads per process (default: the cores, shared out between --batch processes)")
    p.add_argument("--kokoro-model", default=None, help="an official kokoro-v1.0.onnx (default: the packaged int8 model)")
    p.add_argument("--kokoro-voices", default=None, help="a voices-v1.0.bin / .npz adding its voices")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import torch

    from emotive.conditioning import Emotion, EmotiveError
    from emotive.conditioning.files import check_output
    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline
    from emotive.generators.speech.subtitles import SUFFIXES as SUBTITLE_SUFFIXES

    pipe = None
    if args.list_voices:
        pipe = EmotionalSpeechPipeline.from_pretrained(model=args.kokoro_model, voices=args.kokoro_voices,
                                                       threads=threads_option(args))
        print("\n".join(pipe.voices))
        return 0
    if args.batch is not None:
        from emotive.apps.commands._speak_batch import run_batch

        if args.text is not None or args.out is not None or args.subtitles is not None:
            raise EmotiveError("--batch takes its texts from the file and writes into --out-dir; drop the text, -o "
                               "and --subtitles.")
        return run_batch(args)
    if args.out_dir is not None or args.no_verdict:
        raise EmotiveError("--out-dir and --no-verdict go with --batch LINES.")
    if args.text is None or args.out is None:
        raise EmotiveError("speak needs a text and -o OUT.wav (or --list-voices, or --batch LINES --out-dir DIR).")
    text = sys.stdin.read() if args.text == "-" else args.text
    emotion = Emotion.parse(args.emotion)
    to_stdout = args.out == "-"
    if not to_stdout:
        check_output(args.out, args.force, suffixes=(".wav",))
    if args.subtitles is not None:
        check_output(args.subtitles, args.force, suffixes=SUBTITLE_SUFFIXES)
    pipe = EmotionalSpeechPipeline.from_pretrained(model=args.kokoro_model, voices=args.kokoro_voices,
                                                   threads=threads_option(args))
    kw = dict(emotion=emotion, voice=args.voice or pipe.voices[0], engine=pipe.resolve_engine(args.engine),
              generator=torch.Generator().manual_seed(args.seed), num_candidates=args.candidates, pace=args.pace,
              guidance_scale=args.guidance)
    if to_stdout:
        out = _stream_to_stdout(pipe, text, kw)
        report = sys.stderr
    else:
        out = pipe(text, progress=True, **kw)
        report = sys.stdout
    _write(args, out)
    print(f"{args.out if not to_stdout else 'stdout'}: {out.duration:.2f} s, voice {out.voice}, {emotion.label} "
          f"(intensity {emotion.intensity:.2f}), {len(out.segments)} segment(s), engine {out.engine}"
          + (f"; subtitles {args.subtitles}" if args.subtitles else ""), file=report)
    if args.verdict:
        from emotive.evaluators.speech import evaluate_speech
        from emotive.generators.speech.tags import strip_tags

        v = evaluate_speech(out.waveform, out.sample_rate, emotion, text=strip_tags(text))
        print(f"naturalness Distill-MOS {v.figures['mos']:.2f}; heard: {v.figures.get('transcript', '')}", file=report)
        print(v.summary(), file=report)
    return 0


def _write(args: argparse.Namespace, out) -> None:
    """The WAV and its subtitles, together or not at all (the WAV is skipped when it went to standard output)."""
    import soundfile as sf

    from emotive.conditioning.files import atomic_outputs
    from emotive.generators.speech.subtitles import SUFFIXES as SUBTITLE_SUFFIXES
    from emotive.generators.speech.subtitles import write_subtitles

    paths, sfx = [], []
    if args.out != "-":
        paths.append(args.out)
        sfx.append((".wav",))
    if args.subtitles is not None:
        paths.append(args.subtitles)
        sfx.append(SUBTITLE_SUFFIXES)
    if not paths:
        return
    with atomic_outputs(paths, overwrite=args.force, suffixes=sfx) as tmps:
        if args.out != "-":
            sf.write(str(tmps[0]), out.waveform, out.sample_rate, subtype="PCM_16", format="WAV")
        if args.subtitles is not None:
            write_subtitles(tmps[-1], out)


def _stream_to_stdout(pipe, text: str, kw: dict):
    """WAV to standard output as each sentence is rendered (header with an unknown length first); returns the
    whole ``SpeechOutput`` (for subtitles and the verdict)."""
    import sys

    import numpy as np

    from emotive.apps.server.formats import pcm16, wav_header
    from emotive.generators.speech.pipeline import SpeechOutput

    if sys.stdout.isatty():
        from emotive.conditioning import EmotiveError

        raise EmotiveError("-o - writes WAV bytes to standard output; redirect it to a file or a player "
                           "(e.g. '| aplay' or '> out.wav').")
    chunks = []
    sink = sys.stdout.buffer
    try:
        for i, chunk in enumerate(pipe.stream(text, **kw)):
            if i == 0:
                sink.write(wav_header(chunk.sample_rate))
            sink.write(pcm16(chunk.waveform))
            sink.flush()
            chunks.append(chunk)
    except BrokenPipeError:      # the reader stopped listening (e.g. `| head`): not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    wav = np.concatenate([c.waveform for c in chunks]).astype(np.float32)
    emo, voice = pipe._validate(kw["emotion"], kw["voice"], kw["engine"], kw["num_candidates"], kw["pace"],
                                guidance=kw["guidance_scale"])
    return SpeechOutput(wav, chunks[0].sample_rate, emo, voice, [c.segment for c in chunks], kw["engine"])


def threads_option(args: argparse.Namespace) -> int | None:
    """``--threads`` checked (None when not given: the runtime's default, or the batch's share of the cores)."""
    n = getattr(args, "threads", None)
    if n is not None and not 1 <= n <= 256:
        from emotive.conditioning import EmotiveError

        raise EmotiveError(f"--threads must be a whole number from 1 to 256, got {n}.")
    return n
