"""Audio + emotion + portrait -> talking-portrait MP4.

Two motion sources:

- ``"diffusion"``: the trained motion diffusion model (:mod:`.pipeline`): audio features +
  EmotionEncoder -> motion; needs the shipped (or a given) checkpoint;
- ``"procedural"``: the rule-based synthesis of :mod:`.procedural` (the model's training data),
  which needs phone timings: from ``text`` when given, otherwise faster-whisper tiny.en word
  timings + espeak-ng (see ``phones_from_audio``).

``motion="auto"`` uses the diffusion model when weights are available, else the procedural motion.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emotive.conditioning import Emotion
from emotive.conditioning.errors import EmotiveError
from emotive.conditioning.files import check_output
from emotive.evaluators.face.analysis import FaceAnalyzer
from emotive.evaluators.speech.audio import wav_cut_off
from emotive.generators.face.captions import Caption, burn_captions
from emotive.generators.face.motion import FPS, FaceMotion
from emotive.generators.face.phones import Phone, phones_from_audio
from emotive.generators.face.procedural import synthesize_motion
from emotive.generators.face.render import VIDEO_SUFFIXES, PortraitRenderer, prepare_portrait, write_video

MAX_AUDIO_S = 300.0
"""Longest audio accepted (s). Rendering is ~25+ fps, so 5 minutes take ~5 minutes; longer
recordings should be split (a documented limit, not a crash)."""
MIN_AUDIO_S = 0.2
AUDIO_RATES_HZ = (8_000, 48_000)
"""Sample rates accepted (the range ``emotive convert`` takes): a header outside it is a damaged or odd file,
reported as such rather than as a file 'shorter than 0.2 s'."""


class AudioInputError(EmotiveError, ValueError):
    """The speech file cannot be used (missing, not audio, empty, silent, too long)."""


def load_speech(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a speech file as mono float32 and its sample rate, with clear errors."""
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"The audio file '{p}' does not exist.")
    try:
        info = sf.info(str(p))
    except Exception:  # soundfile raises its own error types for any undecodable input
        raise AudioInputError(f"'{p.name}' is not a readable audio file (WAV, FLAC, OGG or MP3).") from None
    if not AUDIO_RATES_HZ[0] <= info.samplerate <= AUDIO_RATES_HZ[1]:
        raise AudioInputError(f"'{p.name}': sample rate {info.samplerate} Hz is outside the supported "
                              f"{AUDIO_RATES_HZ[0] // 1000}-{AUDIO_RATES_HZ[1] // 1000} kHz.")
    if info.duration > MAX_AUDIO_S:
        raise AudioInputError(
            f"'{p.name}' is {info.duration / 60:.1f} minutes long; the limit is {MAX_AUDIO_S / 60:.0f} minutes. "
            "Split it into shorter parts."
        )
    cut = wav_cut_off(p) if info.format == "WAV" else None
    if cut is not None:
        raise AudioInputError(cut)
    audio, sr = sf.read(str(p), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if len(audio) < MIN_AUDIO_S * sr:
        raise AudioInputError(f"'{p.name}' is shorter than {MIN_AUDIO_S} s.")
    if not np.isfinite(audio).all():
        raise AudioInputError(f"'{p.name}' contains invalid (NaN/inf) samples.")
    if np.abs(audio).max() < 1e-4:
        raise AudioInputError(f"'{p.name}' is silent: there is no speech to animate.")
    return audio, int(sr)


@dataclass
class TalkingPortraitOutput:
    """Result of :func:`animate`.

    Attributes:
        video: path of the MP4 written.
        motion: the face motion rendered (25 fps).
        phones: the phone timings used.
        timing: where the phone timings came from ("text", "whisper", "energy").
        motion_source: "diffusion" or "procedural".
        render_fps: frames rendered per wall-clock second.
    """

    video: Path
    motion: FaceMotion
    phones: list[Phone]
    timing: str
    motion_source: str = "procedural"
    render_fps: float = 0.0
    notes: list[str] = field(default_factory=list)


def make_renderer(prepared, fit_gains: bool = True, analyzer: FaceAnalyzer | None = None) -> PortraitRenderer:
    """The renderer of a prepared portrait; with ``fit_gains``, its rig's per-portrait gains are fitted first
    (:func:`emotive.generators.face.calibrate.fit_portrait_gains`: the same command then reads back alike on
    every face). ``analyzer``: reuse an open MediaPipe graph (the one that prepared the portrait)."""
    renderer = PortraitRenderer(prepared)
    if fit_gains:
        from emotive.generators.face.calibrate import fit_portrait_gains

        fit_portrait_gains(renderer, analyzer)
    return renderer


def _prepare_and_rig(portrait, size: int, fit_gains: bool) -> PortraitRenderer:
    """Prepare the portrait and make its renderer with one MediaPipe graph."""
    with FaceAnalyzer() as fa:
        return make_renderer(prepare_portrait(portrait, size, analyzer=fa), fit_gains, fa)


def animate(
    portrait: str | os.PathLike | np.ndarray,
    audio_path: str | os.PathLike,
    out: str | os.PathLike,
    emotion: Emotion | str = "neutral",
    text: str | None = None,
    size: int = 256,
    seed: int = 0,
    motion_out: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = False,
    motion: str = "procedural",
    model_path: str | os.PathLike | None = None,
    num_steps: int = 6,
    guidance_scale: float = 2.0,
    fit_gains: bool = True,
    captions: Sequence[Caption] | None = None,
) -> TalkingPortraitOutput:
    """Make a talking-portrait video (see module docstring).

    Args:
        portrait: image path or RGB array (default portrait in the CLI: ``skimage.data.astronaut()``).
        audio_path: speech WAV/FLAC/OGG (≤ 5 minutes).
        out: MP4 path (refused if it exists unless ``overwrite``).
        emotion: label, mixture, VAD or free text.
        text: the words spoken (procedural motion: better phone timing; otherwise Whisper transcribes).
        size: 256 or 512 px.
        seed: varies the take (diffusion noise, or procedural style, blinks and head motion).
        motion_out: also write the motion as ``.csv`` or ``.json`` (ARKit names).
        motion: "procedural", "diffusion" or "auto". model_path: diffusion model folder (default: shipped).
        num_steps, guidance_scale: diffusion sampling steps and CFG scale (emotion strength).
        fit_gains: fit the rig's per-portrait gains first (:func:`make_renderer`).
        captions: subtitle cues (``start``, ``end`` in s, ``text``) to burn into the frames
            (:func:`emotive.generators.face.captions.burn_captions`); None draws nothing.
    """
    emo = Emotion.parse(emotion) if isinstance(emotion, str) else emotion
    if motion not in ("auto", "diffusion", "procedural"):
        raise EmotiveError(f"motion must be 'auto', 'diffusion' or 'procedural', not {motion!r}.")
    check_output(out, overwrite, VIDEO_SUFFIXES)
    if motion_out is not None:
        check_output(motion_out, overwrite)
        if Path(motion_out).suffix.lower() not in (".csv", ".json"):
            raise EmotiveError(f"--motion-out must end in .csv or .json, not '{Path(motion_out).name}'.")
    pipe = None
    if motion != "procedural":
        from emotive.generators.face.pipeline import PRETRAINED, MotionDiffusionPipeline

        if motion == "diffusion" or model_path is not None or (PRETRAINED / "config.json").exists():
            pipe = MotionDiffusionPipeline.from_pretrained(model_path)
    audio, sr = load_speech(audio_path)
    renderer = _prepare_and_rig(portrait, size, fit_gains)
    if pipe is not None:
        import torch

        gen = torch.Generator().manual_seed(seed)
        sampled = pipe(audio, sr, emo, generator=gen, num_steps=num_steps, guidance_scale=guidance_scale)
        face_motion, phones, timing, source = sampled.motion, [], "audio features", "diffusion"
    else:
        phones, timing = phones_from_audio(audio, sr, text)
        rng = np.random.default_rng(seed)
        face_motion = synthesize_motion(phones, emo, audio=audio, sr=sr, rng=rng, fps=FPS)
        source = "procedural"
    face_motion.meta.update({"timing": timing, "seed": seed})
    t0 = time.perf_counter()
    frames = renderer.render(face_motion, progress=progress)
    if captions:
        frames = burn_captions(frames, captions, FPS)
    write_video(frames, out, fps=FPS, audio_path=audio_path, overwrite=overwrite)
    fps = len(face_motion) / max(time.perf_counter() - t0, 1e-9)
    if motion_out is not None:
        face_motion.save(motion_out, overwrite=overwrite)
    return TalkingPortraitOutput(
        Path(out), face_motion, list(phones), timing, source, fps, list(renderer.portrait.notes)
    )


class TalkingPortraitPipeline:
    """Portrait + speech + emotion -> MP4, diffusers-style.

    >>> pipe = TalkingPortraitPipeline.from_pretrained()       # doctest: +SKIP
    >>> out = pipe(skimage.data.astronaut(), "speech.wav", emotion="sad", out="talk.mp4",
    ...            generator=torch.Generator().manual_seed(0))
    >>> out.video, out.motion.blendshapes.shape

    ``from_pretrained(path=None)`` loads the shipped motion diffusion model; with no weights
    available and ``allow_procedural=True`` the pipeline uses the procedural motion instead
    (``out.motion_source`` says which).
    """

    def __init__(self, motion_pipeline=None):
        self.motion_pipeline = motion_pipeline

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, allow_procedural: bool = True):
        from emotive.generators.face.pipeline import PRETRAINED, MotionDiffusionPipeline

        if path is None and not (PRETRAINED / "config.json").exists():
            if not allow_procedural:
                raise EmotiveError("No shipped motion model; train one with `emotive train face`.")
            return cls(None)
        return cls(MotionDiffusionPipeline.from_pretrained(path))

    def save_pretrained(self, path: str | os.PathLike) -> None:
        if self.motion_pipeline is None:
            raise EmotiveError(
                "This pipeline has no trained motion model to save (it uses the procedural motion)."
            )
        self.motion_pipeline.save_pretrained(path)

    def __call__(
        self,
        portrait: str | os.PathLike | np.ndarray,
        audio_path: str | os.PathLike,
        out: str | os.PathLike,
        emotion: Emotion | str = "neutral",
        generator=None,
        num_steps: int = 6,
        guidance_scale: float = 2.0,
        size: int = 256,
        text: str | None = None,
        motion_out: str | os.PathLike | None = None,
        overwrite: bool = False,
        progress: bool = False,
        fit_gains: bool = True,
        captions: Sequence[Caption] | None = None,
    ) -> TalkingPortraitOutput:
        """Render ``out`` (see :func:`animate`); ``generator`` (torch.Generator) fixes the take; ``captions``: subtitle
        cues burned into the frames."""
        seed = int(generator.initial_seed()) if generator is not None else 0
        if self.motion_pipeline is None:
            return animate(portrait, audio_path, out, emotion, text, size, seed, motion_out, overwrite, progress,
                           motion="procedural", fit_gains=fit_gains, captions=captions)  # fmt: skip
        emo = Emotion.parse(emotion) if isinstance(emotion, str) else emotion
        check_output(out, overwrite, VIDEO_SUFFIXES)
        if motion_out is not None:
            check_output(motion_out, overwrite)
        audio, sr = load_speech(audio_path)
        renderer = _prepare_and_rig(portrait, size, fit_gains)
        sampled = self.motion_pipeline(audio, sr, emo, generator=generator, num_steps=num_steps,
                                       guidance_scale=guidance_scale)  # fmt: skip
        t0 = time.perf_counter()
        frames = renderer.render(sampled.motion, progress=progress)
        if captions:
            frames = burn_captions(frames, captions, FPS)
        write_video(frames, out, fps=FPS, audio_path=audio_path, overwrite=overwrite)
        fps = len(sampled.motion) / max(time.perf_counter() - t0, 1e-9)
        if motion_out is not None:
            sampled.motion.save(motion_out, overwrite=overwrite)
        return TalkingPortraitOutput(Path(out), sampled.motion, [], "audio features", "diffusion", fps,
                                     list(renderer.portrait.notes))  # fmt: skip
