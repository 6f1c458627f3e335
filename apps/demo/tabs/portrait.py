"""Talking portrait: a portrait + speech + the emotion -> an MP4, its motion curves and the face evaluator's verdict.

Motion comes from :class:`emotive.generators.face.talking.TalkingPortraitPipeline`: the shipped
motion diffusion model (speech features + emotion -> 52 ARKit blendshapes and head pose) when
its weights exist, else the procedural motion; the portrait is warped by the landmark rig and
written as H.264 + AAC. The verdict is :func:`emotive.evaluators.face.evaluate.evaluate`
(FER on face crops, lip sync, rig honesty against the commanded curves, identity drift).

When the Speech tab's TTS is available (:func:`emotive.apps.demo.tabs.speech.available`), the
speech can also be typed: the text is spoken with the same emotion, then animated ("text ->
speech" chain). Without the TTS the text input is hidden, and text sent through the API gets a
message saying so.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import gradio as gr

from .. import ux
from ..panel import EmotionPanel, request_to_emotion
from . import speech as tts

TITLE = "Talking portrait"
ORDER = 30
API_NAMES = ("animate",)
REQUIRES = "the face generator (emotive.generators.face) and evaluator (emotive.evaluators.face)"

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
SHORT_WAV = EXAMPLES_DIR / "neutral-slt.wav"
TEN_SECOND_WAV = EXAMPLES_DIR / "ten-seconds-slt.wav"
SIZES = (256, 512)
SPARSE_STRIDE = 5
"""Without the full check the evaluator reads every 5th frame (emotion and identity only)."""
IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".webp")
"""Portrait file types the upload box accepts (the content is checked too)."""
TTS_EXAMPLE = "Good morning! I have wonderful news for you."


def _astronaut_path() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "astronaut.png"
    return p if p.is_file() else None


ASTRONAUT = _astronaut_path()
"""The default portrait: scikit-image's astronaut photo (Eileen Collins, NASA, public domain)."""


def _grace_hopper_path() -> Path | None:
    try:
        import matplotlib.cbook

        p = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    except Exception:  # matplotlib without its sample data
        return None
    return p if p.is_file() else None


GRACE_HOPPER = _grace_hopper_path()
"""A second example portrait: matplotlib's Grace Hopper photo (US Navy, public domain; glasses, a cap)."""


def available() -> bool:
    """The face generator and evaluator import (mediapipe present) and the default portrait exists."""
    mods = ("emotive.generators.face.talking", "emotive.evaluators.face.evaluate", "mediapipe")
    return all(importlib.util.find_spec(m) is not None for m in mods) and ASTRONAUT is not None


_PIPE = None
_LOCK = threading.Lock()


def _pipe() -> Any:
    global _PIPE
    with _LOCK:
        if _PIPE is None:
            import torch

            from emotive.generators.face.talking import TalkingPortraitPipeline

            torch.set_num_threads(1)
            _PIPE = TalkingPortraitPipeline.from_pretrained()
    return _PIPE


def warm_up() -> None:
    """Load the motion model and import the face evaluator (mediapipe, FER)."""
    _pipe()
    import emotive.evaluators.face.evaluate  # noqa: F401


def motion_source() -> str:
    """What drives the face: the shipped diffusion model or the procedural fallback."""
    return "procedural" if _pipe().motion_pipeline is None else "diffusion"


_DEFAULT_PREVIEW: Path | None = None


def _default_preview() -> str:
    """The default portrait, copied once into the demo's output folder (gradio serves files only from
    allowed folders; scikit-image's data folder is not one of them)."""
    global _DEFAULT_PREVIEW
    if _DEFAULT_PREVIEW is None or not _DEFAULT_PREVIEW.is_file():
        import shutil

        from emotive.conditioning.files import atomic_output

        path = ux.output_file(ASTRONAUT.name)
        with atomic_output(path) as tmp:
            shutil.copyfile(ASTRONAUT, tmp)
        _DEFAULT_PREVIEW = path
    return str(_DEFAULT_PREVIEW)


def preview_portrait(portrait: Any) -> str:
    """The picture the preview shows: the checked upload, or the default portrait when the box is empty."""
    if portrait is None or str(portrait) == "":
        return _default_preview()
    ux.check_image_upload(portrait)
    return str(portrait)


def animate(portrait: Any, speech: Any, text: Any, voice: Any, size: Any, full_check: Any, seed: Any, burn: Any,
            request: str, progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
            ) -> tuple[str, Any, str, list[str]]:
    """Animate; returns (MP4, verdict chart, verdict text, [MP4, motion CSV, verdict JSON (, spoken WAV, SRT)]).

    ``speech`` is an uploaded recording; without one, ``text`` is spoken in ``voice`` by the TTS
    (when it is available) with the same emotion and seed, and ``burn`` draws its subtitles onto the video.
    """
    import time

    from emotive.evaluators.face.evaluate import evaluate

    from ..charts import verdict_chart, verdict_markdown

    emotion = request_to_emotion(request)
    generator = ux.generator_for(seed)
    try:
        px = int(size)
    except (TypeError, ValueError):
        raise ux.DemoInputError(f"Frame size must be one of {SIZES} px, got {size!r}.") from None
    if px not in SIZES:
        raise ux.DemoInputError(f"Frame size must be one of {SIZES} px, got {size!r}.")
    if portrait is None or str(portrait) == "":
        source: Any = str(ASTRONAUT)
        gr.Info("No portrait uploaded: using the default portrait (scikit-image's astronaut photo).")
    else:
        ux.check_image_upload(portrait)
        source = str(portrait)
    typed = str(text or "").strip()
    spoken = subtitles = captions = None
    if speech is None or str(speech) == "":
        if not typed:
            raise ux.DemoInputError("No speech was given: upload or record a recording"
                                    + (", or type what the portrait should say." if tts.available() else "."))
        if not tts.available():
            raise ux.DemoInputError("Typed text needs the text-to-speech model, which is not installed ("
                                    + tts.REQUIRES + "); upload or record a recording instead.")
        voice = voice or tts.default_voice()  # an API call may leave the voice out
        spoken, said = tts.synthesise(typed, voice, emotion, seed)
        speech = str(spoken)
        subtitles = tts.write_subtitles(said, "emotive-portrait.srt")
        if burn:
            from emotive.generators.speech.subtitles import make_cues

            captions = make_cues(said.segments, said.duration)
    elif typed:
        gr.Warning("Both a recording and text were given: animating the recording (clear it to use the text).")
    if burn and spoken is None:
        gr.Warning("Subtitles are burned only into typed text spoken by the TTS (their timings come from the engine); "
                   "the recording is animated without them.")
    duration, _ = ux.check_audio_upload(speech)
    progress(0.02, desc="loading the motion model")
    pipe = _pipe()
    video = ux.output_file("emotive-portrait.mp4")
    motion_csv = video.parent / "emotive-portrait-motion.csv"
    progress(0.05, desc="finding the face, generating motion and rendering")
    t0 = time.perf_counter()
    out = pipe(source, str(speech), str(video), emotion=emotion, generator=generator, size=px,
               motion_out=str(motion_csv), progress=True, captions=captions)
    made_s = time.perf_counter() - t0
    for note in out.notes:
        gr.Warning(ux.redact_paths(note))
    stride = 1 if full_check else SPARSE_STRIDE
    progress(0.8, desc="checking the face (every frame)" if stride == 1 else f"checking every {stride}th frame")
    t1 = time.perf_counter()
    verdict = evaluate(str(video), emotion, motion=str(motion_csv), portrait=source, stride=stride)
    check_s = time.perf_counter() - t1
    md = verdict_markdown(verdict)
    md += (f"\n\n{len(out.motion)} frames ({out.motion.duration:.1f} s of {duration:.1f} s audio) at {px} px, motion "
             f"from the **{out.motion_source}** model; made in {made_s:.1f} s, checked in {check_s:.1f} s ")
    md += ("(every frame)." if stride == 1 else
             f"(every {stride}th frame: emotion, identity drift and rig honesty only; tick *Check every frame* for "
             "lip sync).")
    if spoken is not None:
        md += (f" The speech was synthesised from the text in voice **{voice}** (the WAV and its subtitles, SRT from "
               "the engine's word timings, are among the downloads).")
    verdict_path = ux.write_text_output("portrait-verdict.json", verdict.to_json(indent=2))
    files = [str(video), str(motion_csv), str(verdict_path), *(str(f) for f in (spoken, subtitles) if f is not None)]
    return str(video), verdict_chart(verdict), md, files


def build(panel: EmotionPanel) -> None:
    """Portrait + speech on the left; video, verdict and downloads on the right."""
    gr.Markdown(
        "Animate a portrait speaking a recording, with the emotion chosen above: a motion model turns the "
        "speech and the emotion into facial expressions (52 ARKit blendshapes) and head motion, and a "
        "landmark rig warps the portrait. The face evaluator then reads the video back (recognised "
        "expression, lip sync, how faithfully the rig showed the commanded motion, identity drift). "
        "No portrait? The default is scikit-image's astronaut photo."
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            # A file box, not gr.Image: gr.Image decodes uploads itself before our checks run, and its
            # message for a non-image names a server temp path. The file box refuses other extensions
            # with gradio's own clear message, check_image_upload() reads the content; the preview shows
            # the portrait that will be animated.
            portrait = gr.File(file_types=list(IMAGE_TYPES), type="filepath", file_count="single", height=70,
                               label=f"Portrait (optional; one clear, frontal face; {', '.join(IMAGE_TYPES)})",
                               elem_id="portrait-image")
            preview = gr.Image(value=str(ASTRONAUT), label="Portrait to animate", interactive=False, height=220,
                               buttons=[], elem_id="portrait-preview")
            speech = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech",
                              elem_id="portrait-audio-in")
            with_tts = tts.available()
            voices = tts.voices() if with_tts else []
            with gr.Group(visible=with_tts):
                text = gr.Textbox(label="…or type what the portrait says (spoken by the Speech tab's model)",
                                  max_lines=3, info=f"used when no recording is given; up to {tts.MAX_TEXT_CHARS} "
                                  "characters, spoken with the emotion above; " + tts.TAGS_HELP, elem_id="portrait-text")
                voice = gr.Dropdown(voices, value=tts.default_voice() if with_tts else None, label="Voice",
                                    elem_id="portrait-voice")
                burn = gr.Checkbox(value=False, label="Burn subtitles into the video",
                                   info="typed text only: each line is drawn at the bottom while it is spoken (the "
                                   "SRT is among the downloads either way)", elem_id="portrait-burn")
            gr.Markdown(ux.limits_note("audio", "image") + " A 10-second clip takes about 10 s at 256 px on 2 cores "
                        "(measured; more when the machine is busy, about 1.5x at 512 px).")
            # String choices: gradio's API lists a Radio's values as strings and refuses '256' among int choices.
            size = gr.Radio([str(s) for s in SIZES], value=str(SIZES[0]), label="Frame size (px)",
                            elem_id="portrait-size")
            full = gr.Checkbox(value=True, label="Check every frame",
                               info=f"adds lip sync; otherwise every {SPARSE_STRIDE}th frame is checked "
                                    "(about 5x faster on long clips)", elem_id="portrait-full")
            seed = ux.seed_input(elem_id="portrait-seed")
            run = gr.Button("Animate", variant="primary", elem_id="portrait-run")
            first_voice = tts.default_voice() if with_tts else None  # examples never empty the voice box
            examples = [[str(ASTRONAUT), str(TEN_SECOND_WAV), "", first_voice, "256", True, 0, False],
                        [str(ASTRONAUT), str(SHORT_WAV), "", first_voice, "512", False, 1, False]]
            labels = ["astronaut, 10 s of speech (four sentences), 256 px, every frame checked",
                      "astronaut, 3 s of speech, 512 px, every 5th frame checked"]
            if GRACE_HOPPER is not None:
                examples.append([str(GRACE_HOPPER), str(SHORT_WAV), "", first_voice, "256", True, 3, False])
                labels.append("Grace Hopper (matplotlib's sample photo), 3 s of speech, 256 px, every frame checked")
            if with_tts:
                examples.append([str(ASTRONAUT), None, TTS_EXAMPLE, first_voice, 256, True, 2, True])
                labels.append(f"astronaut, typed text spoken by the TTS: \u201c{TTS_EXAMPLE}\u201d, subtitles burned")
            gr.Examples(
                examples,
                inputs=[portrait, speech, text, voice, size, full, seed, burn],
                example_labels=labels,
                label="Examples (click one, then Animate)",
                elem_id="portrait-examples",
            )
        with gr.Column(scale=6, min_width=360):
            video = gr.Video(label="Talking portrait (MP4, H.264 + AAC, 25 fps)", interactive=False, height=420,
                             elem_id="portrait-video")
            chart = gr.Plot(label="Verdict of the face evaluator", show_label=False, elem_id="portrait-verdict")
            verdict_text = gr.Markdown(elem_id="portrait-verdict-text")
            download = gr.File(label="Downloads: MP4, motion CSV (ARKit blendshapes + head pose), verdict JSON",
                               file_count="multiple", interactive=False, elem_id="portrait-download")
    portrait.change(ux.user_errors(preview_portrait), portrait, preview, api_visibility="private",
                    show_progress="hidden", concurrency_limit=ux.LIGHT_LIMIT, concurrency_id="portrait-preview")
    panel.bind(run.click, animate, [portrait, speech, text, voice, size, full, seed, burn],
               [video, chart, verdict_text, download], api_name="animate",
               api_description="Animate a portrait (default: astronaut) speaking a recording, or typed text when "
               "the text-to-speech model is installed (its subtitles burned into the video if asked).")


def _file(path: Path | str) -> dict[str, Any]:
    """A file argument for gradio_client (what ``gradio_client.handle_file`` builds)."""
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}, "orig_name": Path(path).name}


def _no_face_image() -> Path | None:
    p = None if ASTRONAUT is None else ASTRONAUT.with_name("coffee.png")
    return p if p is not None and p.is_file() else None


def api_cases() -> dict[str, dict[str, list[tuple]]]:
    """Arguments: (portrait, speech, text, voice, size, full check, seed, burn subtitles, emotion request)."""
    wav, readme = _file(SHORT_WAV), _file(EXAMPLES_DIR / "README.md")
    ok = [(None, wav, "", None, "256", True, 0, False, "happy:0.8")]
    bad = [
        (None, None, "", None, "256", True, 0, False, "happy"),  # no speech
        (None, readme, "", None, "256", True, 0, False, "happy"),  # not audio
        (readme, wav, "", None, "256", True, 0, False, "happy"),  # not an image
        *([(_file(_no_face_image()), wav, "", None, "256", True, 0, False, "happy")] if _no_face_image() else []),
        (None, wav, "", None, "300", True, 0, False, "happy"),  # unsupported size
        (None, wav, "", None, "256", True, 0, False, "suprised:0.4"),  # misspelt emotion
    ]
    if tts.available():
        voice = tts.default_voice()
        ok.append((None, None, "Hello there.", voice, "256", False, 0, True, "sad:0.6"))  # text -> speech -> portrait
        bad.append((None, None, "x" * (tts.MAX_TEXT_CHARS + 1), voice, "256", True, 0, True, "happy"))  # too long
    else:
        bad.append((None, None, "Hello there.", None, "256", True, 0, False, "happy"))  # text without the TTS
    return {"animate": {"ok": ok, "bad": bad}}


API_CASES = api_cases()
"""The cases for what was installed at import time; the tests call :func:`api_cases`."""
BROWSER_CASE = {
    "examples": "portrait-examples",
    "run": "portrait-run",
    "outputs": ["portrait-video", "portrait-verdict", "portrait-download"],
}
