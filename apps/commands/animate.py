"""``emotive animate portrait.png speech.wav --emotion sad -o talk.mp4``: a talking portrait.

Without a speech file, ``--text`` is spoken first by the Kokoro TTS (same emotion, ``--voice``):
``emotive animate portrait.png --text "Hello" --emotion happy -o talk.mp4``; its subtitles (the engine's word
timings) can be written beside the video, and added to it as a subtitle track (``--subtitles talk.srt``), or drawn
onto the frames (``--burn-subtitles``)."""

from __future__ import annotations

import argparse

from emotive.apps.seeds import add_seed_argument

HELP = (
    "animate a portrait speaking a WAV with an emotion (MP4, H.264 + AAC). Motion: the trained motion "
    "diffusion model when its weights are shipped (--motion auto), otherwise the PROCEDURAL motion "
    "(visemes + FACS expressions + blinks + head motion, the model's training data)"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("animate", help=HELP, description=HELP + ".")
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="[portrait] [audio]",
        help="portrait image (default: skimage's astronaut photo, public domain) and speech file "
        "(WAV/FLAC/OGG/MP3, at most 5 minutes); without a speech file, --text is spoken by the TTS",
    )
    p.add_argument("--emotion", "-e", default="neutral", help="label, mixture, 'vad(v,a,d)' or free text")
    p.add_argument(
        "--text",
        help="the words spoken (better lip timing; otherwise Whisper tiny.en transcribes); without a speech "
        "file, the TTS speaks them",
    )
    p.add_argument("--voice", "-v", default=None,
                   help="TTS voice when --text is spoken (a name from `emotive speak --list-voices`, or a blend)")
    p.add_argument("-o", "--out", required=True, help="output MP4")
    p.add_argument(
        "--motion-out", help="also write the motion (52 ARKit blendshapes + head pose) as .csv or .json"
    )
    p.add_argument("--subtitles", metavar="FILE", help="with --text spoken by the TTS: also write its subtitles "
                   "(.srt, .vtt, or .json with word and phone timings), kept together with the MP4, and add them "
                   "to the MP4 as a subtitle track (unless --burn-subtitles draws them onto the frames)")
    p.add_argument("--burn-subtitles", action="store_true", help="with --text spoken by the TTS: draw each "
                   "subtitle onto the video (white on a dark box near the bottom), timed by the engine's words")
    p.add_argument("--size", type=int, choices=(256, 512), default=256, help="frame size in px")
    add_seed_argument(p, "take (style, blinks, head motion)")
    p.add_argument(
        "--motion",
        choices=("auto", "diffusion", "procedural"),
        default="auto",
        help="motion source (auto: the diffusion model if its weights are shipped, else procedural)",
    )
    p.add_argument("--model", help="motion model folder (default: shipped)")
    p.add_argument("--steps", type=int, default=6, help="diffusion sampling steps (DPM-Solver++)")
    p.add_argument(
        "--guidance", type=float, default=2.0, help="classifier-free guidance scale (emotion strength)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=run)


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".tif", ".tiff", ".gif")
CHARS_PER_SECOND = 10.0
"""Measured speaking rate of the TTS (20,000 characters -> 1,947 s): a --text that the TTS would speak for longer
than the portrait's audio limit is refused before it is spoken, not after."""


def _split_inputs(inputs: list[str], text: str | None) -> tuple[str | None, str | None]:
    """Positional arguments -> (portrait, audio); a single file is the speech unless it is not audio and
    --text can be spoken instead."""
    from emotive.conditioning.errors import EmotiveError

    if len(inputs) > 2:
        raise EmotiveError(f"animate takes at most a portrait and a speech file, got {len(inputs)} files.")
    if len(inputs) == 2:
        return inputs[0], inputs[1]
    if len(inputs) == 1:
        if text and not _is_audio(inputs[0]):
            return inputs[0], None
        if not text and inputs[0].lower().endswith(IMAGE_SUFFIXES):
            raise EmotiveError(f"'{inputs[0]}' is a picture: give a speech file after it, or --text for the TTS "
                               "to speak.")  # fmt: skip
        return None, inputs[0]
    if not text:
        raise EmotiveError("Give a speech file, or --text for the TTS to speak.")
    return None, None


def _is_audio(path: str) -> bool:
    """Named like audio, or read as audio by libsndfile whatever its name (an MP3 called ``take1``)."""
    if path.lower().endswith(AUDIO_SUFFIXES):
        return True
    if path.lower().endswith(IMAGE_SUFFIXES):
        return False
    import soundfile as sf

    try:
        sf.info(path)
    except Exception:  # libsndfile's own error types: not audio (or not there; the later check says which)
        return False
    return True


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    import torch

    from emotive.conditioning.files import atomic_outputs
    from emotive.generators.face.render import VIDEO_SUFFIXES, add_subtitle_track
    from emotive.generators.face.talking import animate

    torch.set_num_threads(1)
    portrait_path, audio = _split_inputs(args.inputs, args.text)
    _check_early(args, speaks=audio is None)
    if portrait_path is None:
        import skimage.data

        portrait = skimage.data.astronaut()
    else:
        portrait = portrait_path
    from emotive.generators.speech.subtitles import SUFFIXES as SUBTITLE_SUFFIXES
    from emotive.generators.speech.subtitles import make_cues, to_srt, write_subtitles

    outputs = [args.out, args.motion_out] if args.motion_out else [args.out]
    suffixes = [VIDEO_SUFFIXES, (".csv", ".json")][: len(outputs)]
    if args.subtitles:
        outputs.append(args.subtitles)
        suffixes.append(SUBTITLE_SUFFIXES)
    text = args.text
    with tempfile.TemporaryDirectory(prefix="emotive-animate-") as tmp:
        speech = None
        if audio is None:
            from emotive.generators.speech.tags import strip_tags

            audio = str(Path(tmp) / "speech.wav")
            speech = _speak(args.text, args.emotion, args.voice, args.seed, audio)
            text = strip_tags(args.text)   # the face's aligner gets the words, not the tags
        cues = make_cues(speech.segments, speech.duration) if speech is not None else None
        # All or none: the MP4 is kept only with its motion file and subtitles (a full disk or a failure keeps none).
        with atomic_outputs(outputs, args.force, suffixes) as tmps:
            if speech is not None and args.subtitles:
                write_subtitles(tmps[-1], speech)
            res = animate(
                portrait, audio, tmps[0], emotion=args.emotion, text=text, size=args.size, seed=args.seed,
                motion_out=tmps[1] if args.motion_out else None, overwrite=True, progress=True, motion=args.motion,
                model_path=args.model, num_steps=args.steps, guidance_scale=args.guidance,
                captions=cues if args.burn_subtitles else None,
            )  # fmt: skip
            if cues is not None and args.subtitles and not args.burn_subtitles:   # burned: no second copy
                track = Path(tmp) / "track.srt"   # SRT whatever the sidecar's format
                track.write_text(to_srt(cues), encoding="utf-8")
                add_subtitle_track(tmps[0], track)
    for note in res.notes:
        print(f"note: {note}")
    print(
        f"wrote {args.out} ({len(res.motion)} frames, {res.motion.duration:.1f} s, {args.size} px; "
        f"motion: {res.motion_source}; timing: {res.timing}; render {res.render_fps:.0f} fps)"
    )
    if args.motion_out:
        print(f"wrote {args.motion_out}")
    if args.subtitles:
        print(f"wrote {args.subtitles}" + ("" if args.burn_subtitles else f" (also a subtitle track in {args.out})"))
    return 0


def _check_early(args: argparse.Namespace, speaks: bool) -> None:
    """What can be refused in a second is refused before minutes of speech synthesis and rendering."""
    import math

    from emotive.conditioning import Emotion
    from emotive.conditioning.errors import EmotiveError
    from emotive.conditioning.files import check_output
    from emotive.generators.face.render import VIDEO_SUFFIXES
    from emotive.generators.face.talking import MAX_AUDIO_S

    Emotion.parse(args.emotion)
    check_output(args.out, args.force, VIDEO_SUFFIXES)
    if args.motion_out:
        check_output(args.motion_out, args.force, (".csv", ".json"))
    for flag, asked in (("--subtitles", args.subtitles), ("--burn-subtitles", args.burn_subtitles)):
        if asked and not speaks:
            raise EmotiveError(f"{flag} needs --text spoken by the TTS (its timings come from the engine); "
                               "with a speech file there are none.")
    if args.subtitles:
        from emotive.generators.speech.subtitles import SUFFIXES as SUBTITLE_SUFFIXES

        check_output(args.subtitles, args.force, SUBTITLE_SUFFIXES)
    if args.steps < 1:
        raise EmotiveError(f"--steps must be at least 1, got {args.steps}.")
    if not (math.isfinite(args.guidance) and args.guidance >= 0):
        raise EmotiveError(f"--guidance must be a finite number >= 0, got {args.guidance}.")
    if speaks:
        text = (args.text or "").strip()
        if len(text) > MAX_AUDIO_S * CHARS_PER_SECOND:
            raise EmotiveError(
                f"--text is {len(text)} characters, about {len(text) / CHARS_PER_SECOND / 60:.0f} minutes of speech; "
                f"a talking portrait takes at most {MAX_AUDIO_S / 60:.0f} minutes (about "
                f"{MAX_AUDIO_S * CHARS_PER_SECOND:.0f} characters)."
            )


def _speak(text: str, emotion: str, voice: str | None, seed: int, out: str):
    """The Kokoro TTS speaks ``text`` (inline tags allowed) into the WAV ``out`` (24 kHz mono); returns its
    ``SpeechOutput`` (timings for subtitles)."""
    import soundfile as sf
    import torch

    from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

    pipe = EmotionalSpeechPipeline.from_pretrained()
    sp = pipe(text, emotion=emotion, voice=voice or pipe.voices[0], generator=torch.Generator().manual_seed(seed), progress=True)
    sf.write(out, sp.waveform, sp.sample_rate, subtype="PCM_16")
    print(f"spoke {sp.duration:.1f} s with voice {sp.voice} ({sp.emotion.label})")
    return sp
