"""Talking portrait: a portrait + speech + the emotion -> an MP4, its motion curves and the face evaluator's verdict.

Motion comes from :class:`emotive.generators.face.talking.TalkingPortraitPipeline`: the shipped
motion diffusion model (speech features + emotion -> 52 ARKit blendshapes and head pose) when
its weights exist, else the procedural motion; the portrait is warped by the landmark rig and
written as H.264 + AAC. The verdict is :func:`emotive.evaluators.face.evaluate.evaluate`
(FER on face crops, lip sync, rig honesty against the commanded curves, identity drift).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import gradio as gr

from .. import ux
from ..panel import EmotionPanel, request_to_emotion

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


def _astronaut_path() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "astronaut.png"
    return p if p.is_file() else None


ASTRONAUT = _astronaut_path()
"""The default portrait: scikit-image's astronaut photo (Eileen Collins, NASA, public domain)."""


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


def animate(portrait: Any, speech: Any, size: Any, full_check: Any, seed: Any, request: str,
            progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, Any, str, list[str]]:  # noqa: B008
    """Animate; returns (MP4, verdict chart, verdict text, [MP4, motion CSV, verdict JSON])."""
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
    duration, _ = ux.check_audio_upload(speech)
    progress(0.02, desc="loading the motion model")
    pipe = _pipe()
    video = ux.output_file("emotive-portrait.mp4")
    motion_csv = video.parent / "emotive-portrait-motion.csv"
    progress(0.05, desc="finding the face, generating motion and rendering")
    t0 = time.perf_counter()
    out = pipe(source, str(speech), str(video), emotion=emotion, generator=generator, size=px,
               motion_out=str(motion_csv), progress=True)
    made_s = time.perf_counter() - t0
    for note in out.notes:
        gr.Warning(note)
    stride = 1 if full_check else SPARSE_STRIDE
    progress(0.8, desc="checking the face (every frame)" if stride == 1 else f"checking every {stride}th frame")
    t1 = time.perf_counter()
    verdict = evaluate(str(video), emotion, motion=str(motion_csv), portrait=source, stride=stride)
    check_s = time.perf_counter() - t1
    text = verdict_markdown(verdict)
    text += (f"\n\n{len(out.motion)} frames ({out.motion.duration:.1f} s of {duration:.1f} s audio) at {px} px, motion "
             f"from the **{out.motion_source}** model; made in {made_s:.1f} s, checked in {check_s:.1f} s ")
    text += ("(every frame)." if stride == 1 else
             f"(every {stride}th frame: emotion, identity drift and rig honesty only; tick *Check every frame* for "
             "lip sync).")
    verdict_path = ux.write_text_output("portrait-verdict.json", verdict.to_json(indent=2))
    return str(video), verdict_chart(verdict), text, [str(video), str(motion_csv), str(verdict_path)]


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
            portrait = gr.Image(type="filepath", sources=["upload"], label="Portrait (optional; one clear, frontal face)",
                                height=260, elem_id="portrait-image")
            speech = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech",
                              elem_id="portrait-audio-in")
            gr.Markdown(ux.limits_note("audio", "image") + " A 10-second clip takes about 10 s at 256 px on 2 cores "
                        "(measured; more when the machine is busy, about 1.5x at 512 px).")
            size = gr.Radio(list(SIZES), value=256, label="Frame size (px)", elem_id="portrait-size")
            full = gr.Checkbox(value=True, label="Check every frame",
                               info=f"adds lip sync; otherwise every {SPARSE_STRIDE}th frame is checked "
                                    "(about 5x faster on long clips)", elem_id="portrait-full")
            seed = ux.seed_input(elem_id="portrait-seed")
            run = gr.Button("Animate", variant="primary", elem_id="portrait-run")
            gr.Examples(
                [[str(ASTRONAUT), str(TEN_SECOND_WAV), 256, True, 0], [str(ASTRONAUT), str(SHORT_WAV), 512, False, 1]],
                inputs=[portrait, speech, size, full, seed],
                example_labels=["astronaut, 10 s of speech (four sentences), 256 px, every frame checked",
                                "astronaut, 3 s of speech, 512 px, every 5th frame checked"],
                label="Examples (click one, then Animate)",
                elem_id="portrait-examples",
            )
        with gr.Column(scale=6, min_width=360):
            video = gr.Video(label="Talking portrait (MP4, H.264 + AAC, 25 fps)", interactive=False, height=420,
                             elem_id="portrait-video")
            chart = gr.Plot(label="Verdict of the face evaluator", show_label=False, elem_id="portrait-verdict")
            text = gr.Markdown(elem_id="portrait-verdict-text")
            download = gr.File(label="Downloads: MP4, motion CSV (ARKit blendshapes + head pose), verdict JSON",
                               file_count="multiple", interactive=False, elem_id="portrait-download")
    panel.bind(run.click, animate, [portrait, speech, size, full, seed], [video, chart, text, download],
               api_name="animate", api_description="Animate a portrait (default: astronaut) speaking a recording.")


def _file(path: Path | str) -> dict[str, Any]:
    """A file argument for gradio_client (what ``gradio_client.handle_file`` builds)."""
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}, "orig_name": Path(path).name}


def _no_face_image() -> Path | None:
    p = None if ASTRONAUT is None else ASTRONAUT.with_name("coffee.png")
    return p if p is not None and p.is_file() else None


API_CASES = {
    "animate": {
        "ok": [(None, _file(SHORT_WAV), 256, True, 0, "happy:0.8")],
        "bad": [
            (None, None, 256, True, 0, "happy"),  # no speech
            (None, _file(EXAMPLES_DIR / "README.md"), 256, True, 0, "happy"),  # not audio
            (_file(EXAMPLES_DIR / "README.md"), _file(SHORT_WAV), 256, True, 0, "happy"),  # not an image
            *([(_file(_no_face_image()), _file(SHORT_WAV), 256, True, 0, "happy")] if _no_face_image() else []),
            (None, _file(SHORT_WAV), 300, True, 0, "happy"),  # unsupported size
            (None, _file(SHORT_WAV), 256, True, 0, "suprised:0.4"),  # misspelt emotion
        ],
    }
}
BROWSER_CASE = {
    "examples": "portrait-examples",
    "run": "portrait-run",
    "outputs": ["portrait-video", "portrait-verdict", "portrait-download"],
}
