"""Music: emotion (+ optional tempo/mode/density faders) -> an arrangement, its audio preview, piano roll and verdict.

The shipped model (``emotive-music-v2``, :mod:`emotive.generators.music`) composes ``bars`` bars
(whole 4-bar phrases) of 4/4 melody with chords, accompaniment and bass; tempo, mode and note density follow the
emotion unless a fader overrides them. The result is rendered with FluidSynth
(WAV preview), drawn as a piano roll and judged by the symbolic music evaluator
(:mod:`emotive.evaluators.music`: measured attributes -> valence/arousal quadrant).
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path
from typing import Any

import gradio as gr

from .. import ux
from ..panel import EmotionPanel, request_to_emotion

TITLE = "Music"
ORDER = 40
API_NAMES = ("compose",)
REQUIRES = "the music weights generators/music/pretrained/emotive-music-v2 (emotive train music)"

MAX_DEMO_BARS = 32
"""Bars per request in the demo (the model takes up to 512; 32 bars stay under ~10 s on 2 cores)."""
DEFAULT_BARS = 8
FROM_EMOTION = "from the emotion"
MODES = (FROM_EMOTION, "major", "minor")
TEMPO_RANGE = (40, 200)
DENSITY_RANGE = (1, 16)
SAMPLE_RATE = 22050

GUIDANCE = 1.5
"""The pipeline's default classifier-free guidance (chosen by the music helper's measured sweep)."""
EXAMPLES = [
    [8, 0, FROM_EMOTION, 0, GUIDANCE, 0],
    [8, 70, "minor", 4, GUIDANCE, 1],
    [16, 160, "major", 12, GUIDANCE, 2],
]
EXAMPLE_LABELS = ["8 bars, everything from the emotion", "8 bars, slow (70 BPM), minor, sparse",
                  "16 bars, fast (160 BPM), major, dense"]

API_CASES = {
    "compose": {
        "ok": [(4, 0, FROM_EMOTION, 0, GUIDANCE, 0, "happy:0.8"), (4, 72, "minor", 3, 3.0, 5, "0.7 sad + 0.3 calm")],
        "bad": [
            (0, 0, FROM_EMOTION, 0, 3.0, 0, "happy"),  # no bars
            (MAX_DEMO_BARS + 1, 0, FROM_EMOTION, 0, 3.0, 0, "happy"),  # too many bars
            (4, 20, FROM_EMOTION, 0, 3.0, 0, "happy"),  # tempo below 40 and not 0
            (4, 0, "lydian", 0, 3.0, 0, "happy"),  # unknown mode
            (4, 0, FROM_EMOTION, 30, 3.0, 0, "happy"),  # density out of range
            (4, 0, FROM_EMOTION, 0, -1.0, 0, "happy"),  # negative guidance
            (4, 0, FROM_EMOTION, 0, 3.0, -1, "happy"),  # bad seed
            (4, 0, FROM_EMOTION, 0, 3.0, 0, "suprised:0.4"),  # misspelt emotion
        ],
    }
}
BROWSER_CASE = {
    "examples": "music-examples",
    "run": "music-run",
    "outputs": ["music-audio", "music-roll", "music-verdict", "music-download"],
}


def _weights() -> Path | None:
    spec = importlib.util.find_spec("emotive.generators.music.pipeline")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pretrained" / "emotive-music-v2" / "model.safetensors"


def available() -> bool:
    """The music pipeline imports and its shipped weights exist."""
    w = _weights()
    return w is not None and w.is_file() and importlib.util.find_spec("emotive.evaluators.music.evaluator") is not None


_PIPE = None
_LOCK = threading.Lock()


def _pipe() -> Any:
    global _PIPE
    with _LOCK:
        if _PIPE is None:
            import torch

            from emotive.generators.music.pipeline import MusicPipeline

            torch.set_num_threads(1)
            _PIPE = MusicPipeline.from_pretrained()
    return _PIPE


def warm_up() -> None:
    """Load the model and the evaluator's corpus statistics."""
    _pipe()
    from emotive.evaluators.music.evaluator import load_corpus_stats

    load_corpus_stats()


def _number(value: Any, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ux.DemoInputError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(x):
        raise ux.DemoInputError(f"{name} must be a finite number, got {value!r}.")
    return x


def check_faders(bars: Any, tempo: Any, mode: Any, density: Any, guidance: Any) -> tuple[int, float | None, str | None,
                                                                                           float | None, float]:
    """Form values -> (bars, tempo or None, mode or None, density or None, guidance); None = follow the emotion."""
    b = _number(bars, "Bars")
    if b != int(b) or not 4 <= b <= MAX_DEMO_BARS:
        raise ux.DemoInputError(f"Bars must be a whole number from 4 (one phrase) to {MAX_DEMO_BARS} in the demo, "
                                f"got {bars!r}.")
    t = _number(tempo, "Tempo")
    if t != 0 and not TEMPO_RANGE[0] <= t <= TEMPO_RANGE[1]:
        raise ux.DemoInputError(
            f"Tempo must be 0 (follow the emotion) or {TEMPO_RANGE[0]}-{TEMPO_RANGE[1]} BPM, got {tempo!r}.")
    if mode not in MODES:
        raise ux.DemoInputError(f"Mode must be one of {', '.join(MODES)}; got {mode!r}.")
    d = _number(density, "Density")
    if d != 0 and not DENSITY_RANGE[0] <= d <= DENSITY_RANGE[1]:
        raise ux.DemoInputError(
            f"Density must be 0 (follow the emotion) or {DENSITY_RANGE[0]}-{DENSITY_RANGE[1]} notes per bar, "
            f"got {density!r}.")
    g = _number(guidance, "Emotion strength")
    if not 0 <= g <= 10:
        raise ux.DemoInputError(f"Emotion strength (guidance) must be from 0 to 10, got {guidance!r}.")
    return int(b), (t or None), (None if mode == FROM_EMOTION else mode), (d or None), g


def implied(request: str | None) -> str:
    """What the panel's emotion implies for the faders (shown live under them)."""
    try:
        from emotive.generators.music.attributes import targets_from_emotion

        t = targets_from_emotion(request_to_emotion(request))
    except Exception:  # an unresolvable panel state already shows its own message in the panel
        return ""
    return (f"The emotion alone implies **{t.tempo_bpm:.0f} BPM**, **{t.mode}**, **{t.density:.1f} notes per bar** "
            f"(velocity {t.velocity:.0f}, register MIDI {t.register:.0f}). Faders at 0 / *{FROM_EMOTION}* keep these.")


def compose(bars: Any, tempo: Any, mode: Any, density: Any, guidance: Any, seed: Any, request: str,
            progress: gr.Progress = gr.Progress()) -> tuple[str, str, Any, str, list[str]]:  # noqa: B008
    """Compose; returns (WAV preview, piano-roll PNG, verdict chart, verdict text, [MIDI, WAV, verdict JSON])."""
    import soundfile as sf

    from emotive.conditioning.files import atomic_output
    from emotive.evaluators.music.evaluator import evaluate

    from ..charts import verdict_chart, verdict_markdown

    emotion = request_to_emotion(request)
    n_bars, t, m, d, g = check_faders(bars, tempo, mode, density, guidance)
    generator = ux.generator_for(seed)
    progress(0.05, desc="loading the music model")
    pipe = _pipe()
    progress(0.2, desc=f"composing {n_bars} bars")
    out = pipe(emotion=emotion, bars=n_bars, generator=generator, guidance_scale=g, tempo=t, mode=m, density=d)
    progress(0.55, desc="rendering audio (FluidSynth)")
    midi_path = out.write_midi(ux.output_file("emotive-music.mid"))
    wav_path = ux.output_file("emotive-music.wav")
    with atomic_output(wav_path) as tmp:
        sf.write(str(tmp), out.render_audio(SAMPLE_RATE), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    progress(0.7, desc="drawing the piano roll")
    roll = out.write_pianoroll(ux.output_file("emotive-music-pianoroll.png"))
    progress(0.85, desc="checking the emotion")
    verdict = evaluate(out.midi, emotion)
    text = verdict_markdown(verdict)
    tg = out.targets
    text += (f"\n\nComposed {len(out.bars)} bars in {out.key}, {tg.tempo_bpm:.0f} BPM, target density "
             f"{tg.density:.1f} notes per bar, {out.duration_s:.1f} s of music in {out.seconds:.1f} s"
             + (" (the mode was rewritten to match the target)" if out.mode_rewritten else "") + ".")
    verdict_path = ux.write_text_output("music-verdict.json", verdict.to_json(indent=2))
    return str(wav_path), str(roll), verdict_chart(verdict), text, [str(midi_path), str(wav_path), str(verdict_path)]


def build(panel: EmotionPanel) -> None:
    """Faders on the left; audio, piano roll, verdict and downloads on the right."""
    gr.Markdown(
        "Compose a short 4/4 piece for the emotion chosen above with the shipped **emotive-music-v2** model "
        "(a melody from a bar-level VQ-VAE with an emotion-conditioned prior, chords from a chorale-trained model, "
        "an accompaniment and bass chosen by the emotion). Tempo, mode and note density follow the "
        "emotion unless you move a fader. The music evaluator then measures the piece (tempo, mode, density, "
        "register, ...) and places it in a valence-arousal quadrant."
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            bars = gr.Slider(4, MAX_DEMO_BARS, value=DEFAULT_BARS, step=4, label="Bars",
                             info=f"4-{MAX_DEMO_BARS} bars of 4/4 (4-bar phrases)", elem_id="music-bars")
            tempo = gr.Slider(0, TEMPO_RANGE[1], value=0, step=1, label="Tempo (BPM)",
                              info=f"0 = follow the emotion; {TEMPO_RANGE[0]}-{TEMPO_RANGE[1]} overrides it",
                              elem_id="music-tempo")
            mode = gr.Radio(list(MODES), value=FROM_EMOTION, label="Mode", elem_id="music-mode")
            density = gr.Slider(0, DENSITY_RANGE[1], value=0, step=0.5, label="Note density (notes per bar)",
                                info=f"0 = follow the emotion; {DENSITY_RANGE[0]}-{DENSITY_RANGE[1]} overrides it",
                                elem_id="music-density")
            hint = gr.Markdown(implied("happy:0.8"), elem_id="music-implied")
            guidance = gr.Slider(0, 10, value=GUIDANCE, step=0.5, label="Emotion strength (classifier-free guidance)",
                                 info="1 = plain conditional sampling; higher follows the emotion and faders more "
                                      "strictly", elem_id="music-guidance")
            seed = ux.seed_input(elem_id="music-seed")
            run = gr.Button("Compose", variant="primary", elem_id="music-run")
            gr.Examples(EXAMPLES, inputs=[bars, tempo, mode, density, guidance, seed], example_labels=EXAMPLE_LABELS,
                        label="Examples (click one, then Compose; the emotion comes from the panel above)",
                        elem_id="music-examples")
        with gr.Column(scale=6, min_width=360):
            audio = gr.Audio(label="Audio preview (FluidSynth, General MIDI piano)", type="filepath",
                             interactive=False, elem_id="music-audio")
            roll = gr.Image(label="Piano roll (colour = velocity)", type="filepath", interactive=False,
                            elem_id="music-roll")
            chart = gr.Plot(label="Verdict of the music evaluator", show_label=False, elem_id="music-verdict")
            text = gr.Markdown(elem_id="music-verdict-text")
            download = gr.File(label="Downloads: MIDI, WAV, verdict JSON", file_count="multiple", interactive=False,
                               elem_id="music-download")
    panel.request.change(implied, [panel.request], [hint], api_visibility="private", queue=False,
                         show_progress="hidden")
    panel.bind(run.click, compose, [bars, tempo, mode, density, guidance, seed],
               [audio, roll, chart, text, download], api_name="compose",
               api_description="Compose bars of melody for an emotion; faders at 0 / 'from the emotion' follow it.")
