"""Audio + emotion + portrait -> talking-portrait MP4, with the *procedural* motion.

This is the end-to-end path the motion diffusion model will slot into: phone
timings -> motion -> renderer -> MP4. Until that model is trained, the motion is
the procedural synthesis of :mod:`.procedural` (the same generator that makes its
training data), which needs phone timings: from ``text`` when given, otherwise
from faster-whisper tiny.en word timings + espeak-ng (see ``phones_from_audio``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emotive.conditioning import Emotion
from emotive.conditioning.errors import EmotiveError
from emotive.conditioning.files import check_output
from emotive.generators.face.motion import FPS, FaceMotion
from emotive.generators.face.phones import Phone, phones_from_audio
from emotive.generators.face.procedural import synthesize_motion
from emotive.generators.face.render import PortraitRenderer, prepare_portrait, write_video

MAX_AUDIO_S = 300.0
"""Longest audio accepted (s). Rendering is ~25+ fps, so 5 minutes take ~5 minutes; longer
recordings should be split (a documented limit, not a crash)."""
MIN_AUDIO_S = 0.2


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
        raise AudioInputError(f"'{p.name}' is not a readable audio file (WAV, FLAC or OGG).") from None
    if info.duration > MAX_AUDIO_S:
        raise AudioInputError(
            f"'{p.name}' is {info.duration / 60:.1f} minutes long; the limit is {MAX_AUDIO_S / 60:.0f} minutes. "
            "Split it into shorter parts."
        )
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
        motion_source: "procedural" until the diffusion model is trained.
        render_fps: frames rendered per wall-clock second.
    """

    video: Path
    motion: FaceMotion
    phones: list[Phone]
    timing: str
    motion_source: str = "procedural"
    render_fps: float = 0.0
    notes: list[str] = field(default_factory=list)


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
) -> TalkingPortraitOutput:
    """Make a talking-portrait video with the procedural motion (see module docstring).

    Args:
        portrait: image path or RGB array (default portrait in the CLI: ``skimage.data.astronaut()``).
        audio_path: speech WAV/FLAC/OGG (≤ 5 minutes).
        out: MP4 path (refused if it exists unless ``overwrite``).
        emotion: label, mixture, VAD or free text.
        text: the words spoken (better phone timing); otherwise Whisper tiny.en transcribes.
        size: 256 or 512 px.
        seed: varies the take (style, blinks, head motion).
        motion_out: also write the motion as ``.csv`` or ``.json`` (ARKit names).
    """
    emo = Emotion.parse(emotion) if isinstance(emotion, str) else emotion
    check_output(out, overwrite)
    if motion_out is not None:
        check_output(motion_out, overwrite)
        if Path(motion_out).suffix.lower() not in (".csv", ".json"):
            raise EmotiveError(f"--motion-out must end in .csv or .json, not '{Path(motion_out).name}'.")
    audio, sr = load_speech(audio_path)
    prepared = prepare_portrait(portrait, size)
    phones, timing = phones_from_audio(audio, sr, text)
    motion = synthesize_motion(phones, emo, audio=audio, sr=sr, rng=np.random.default_rng(seed), fps=FPS)
    motion.meta.update({"timing": timing, "seed": seed})
    renderer = PortraitRenderer(prepared)
    t0 = time.perf_counter()
    write_video(
        renderer.render(motion, progress=progress), out, fps=FPS, audio_path=audio_path, overwrite=overwrite
    )
    fps = len(motion) / max(time.perf_counter() - t0, 1e-9)
    if motion_out is not None:
        motion.save(motion_out, overwrite=overwrite)
    return TalkingPortraitOutput(
        Path(out), motion, list(phones), timing, "procedural", fps, list(prepared.notes)
    )
