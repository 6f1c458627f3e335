"""Voice conversion: a speech recording -> the same words with emotional prosody (+ the recogniser's verdict).

The conversion is the rule-based WORLD prosody engine of :mod:`emotive.generators.speech.prosody`
(F0 level/range/contour, tempo and pauses, level, spectral tilt, breathiness,
jitter/tremor, all driven by the emotion; no weights). The verdict comes from the
speech emotion recogniser of :mod:`emotive.evaluators.speech.ser` when its shipped
weights exist; the tab says so when they do not, and still converts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import gradio as gr

from .. import ux
from ..panel import EmotionPanel, request_to_emotion

TITLE = "Voice conversion"
ORDER = 20
API_NAMES = ("convert",)
REQUIRES = "the speech prosody engine (emotive.generators.speech.prosody) and pyworld"

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_WAV = EXAMPLES_DIR / "neutral-slt.wav"
EXAMPLE_TEXT = "Please leave the blue folder on the second shelf."


def _spec_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None
    return None if spec is None or spec.origin is None else Path(spec.origin).parent


def recogniser_available() -> bool:
    """The speech emotion recogniser's shipped weights exist (evaluators/speech/pretrained/ser)."""
    d = _spec_dir("emotive.evaluators.speech.ser")
    return d is not None and (d / "pretrained" / "ser" / "model.safetensors").is_file()


SER_READY = recogniser_available()
"""Decided once at start-up: the verdict chart is part of the page only when the recogniser is shipped."""


def available() -> bool:
    """The prosody engine imports (pyworld present); needs no weights."""
    return _spec_dir("emotive.generators.speech.prosody") is not None and importlib.util.find_spec("pyworld") is not None


_SER = None


def _recogniser() -> Any:
    global _SER
    if _SER is None:
        from emotive.evaluators.speech.ser import SpeechEmotionRecognizer

        _SER = SpeechEmotionRecognizer.from_pretrained()
    return _SER


def warm_up() -> None:
    """Import pyworld (slow first import); load the recogniser and Whisper if the recogniser is shipped."""
    import pyworld  # noqa: F401

    if SER_READY:
        import soundfile as sf

        from emotive.evaluators.speech.asr import transcribe

        _recogniser()
        x, sr = sf.read(str(EXAMPLE_WAV), dtype="float32", frames=16000)
        transcribe(x, sr)


def _f0(x: Any, sr: int) -> tuple[Any, Any]:
    """F0 track (Hz, NaN when unvoiced) and its times (s), WORLD DIO + StoneMask at 10 ms."""
    import numpy as np
    import pyworld as pw

    xd = np.ascontiguousarray(x, dtype=np.float64)
    f0, t = pw.dio(xd, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=10.0)
    f0 = pw.stonemask(xd, f0, t, sr)
    return t, np.where(f0 > 0, f0, np.nan)


def prosody_figure(x: Any, y: Any, sr: int, params: Any, label: str) -> Any:
    """Pitch contours before/after (semitones re 100 Hz) and waveforms: what the conversion changed."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.6), dpi=100)
    ax, ax_w = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    for sig, name, color in ((x, "original", "#9e9e9e"), (y, f"converted ({label})", "#d55e00")):
        t, f0 = _f0(sig, sr)
        ax.plot(t, 12 * np.log2(f0 / 100.0), ".", ms=2.5, color=color, label=name)
        tt = np.arange(len(sig)) / sr
        ax_w.plot(tt, sig, lw=0.4, color=color, alpha=0.7)
    ax.set_ylabel("pitch (st re 100 Hz)")
    ax.legend(loc="upper right", fontsize=8, markerscale=4)
    ax.grid(alpha=0.3)
    ax_w.set_xlabel("time (s)")
    ax_w.set_ylabel("wave")
    ax_w.set_ylim(-1, 1)
    ax.set_title(f"F0 {params.f0_shift:+.1f} st, range x{params.f0_range:.2f}, tempo x{params.tempo:.2f}, "
                 f"level {params.energy_db:+.1f} dB", fontsize=9)
    fig.tight_layout()
    return fig


MAX_TEXT_CHARS = 300


def convert(upload: Any, words: Any, seed: Any, request: str,
            progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
    """Convert; returns (converted WAV, prosody figure, [verdict chart,] verdict text, downloads)."""
    import soundfile as sf

    from emotive.conditioning.files import atomic_output
    from emotive.evaluators.speech.audio import MAX_CLIPPED_FRACTION, load_speech
    from emotive.generators.speech.prosody import ProsodyPipeline, describe

    from ..charts import verdict_chart, verdict_markdown

    emotion = request_to_emotion(request)
    seed_value = ux.check_seed(seed)
    words = str(words or "").strip()
    if len(words) > MAX_TEXT_CHARS:
        raise ux.DemoInputError(f"The words spoken are {len(words)} characters long; the limit is {MAX_TEXT_CHARS}.")
    duration, _ = ux.check_audio_upload(upload)
    progress(0.05, desc="reading the recording")
    sa = load_speech(upload, allow_clipping=True)
    progress(0.15, desc="WORLD analysis and resynthesis")
    out = ProsodyPipeline()(sa.audio, sa.sr, emotion=emotion, generator=seed_value)
    wav = ux.output_file("emotive-converted.wav")
    with atomic_output(wav) as tmp:
        sf.write(str(tmp), out.audio, out.sr, subtype="PCM_16", format="WAV")
    progress(0.6, desc="drawing the pitch contours")
    figure = prosody_figure(sa.audio, out.audio, sa.sr, out.params, emotion.label)
    lines = [f"**Applied prosody** ({emotion.label}, intensity {emotion.intensity:.2f}): {describe(out.params)}. "
             f"Input {duration:.1f} s at {sa.sr} Hz -> output {len(out.audio) / out.sr:.1f} s."]
    downloads = [str(wav)]
    chart = None
    if SER_READY:
        progress(0.75, desc="recognising the emotion" + (" and transcribing (Whisper)" if words else ""))
        ser = _recogniser()
        if sa.clipped_fraction > MAX_CLIPPED_FRACTION:
            # The recogniser refuses clipped audio (its features would be unreliable): the converted audio,
            # which WORLD resynthesises below full scale, is judged without the original as reference.
            verdict = ser.evaluate(str(wav), emotion, text=words or None)
            lines.append(f"The original recording is clipped ({sa.clipped_fraction:.0%} of its samples at full "
                         "scale), so the recogniser did not judge it or use it as the speaker's neutral reference.")
        else:
            before = ser.evaluate(str(upload), None)
            verdict = ser.evaluate(str(wav), emotion, reference=[str(upload)], text=words or None)
            lines.append(f"The original recording alone was recognised as **{before.label}**. The verdict on the "
                         "converted audio uses the original as the speaker's neutral reference.")
        chart = verdict_chart(verdict)
        lines.insert(0, verdict_markdown(verdict))
        downloads.append(str(ux.write_text_output("voice-verdict.json", verdict.to_json(indent=2))))
    else:
        lines.append("*No verdict: the speech emotion recogniser's weights are not shipped yet "
                     "(evaluators/speech/pretrained/ser).*")
    text = "\n\n".join(lines)
    if SER_READY:
        return str(wav), figure, chart, text, downloads
    return str(wav), figure, text, downloads


def build(panel: EmotionPanel) -> None:
    """Upload/record on the left; converted audio, contours, verdict and downloads on the right."""
    verdict_note = (
        "The speech emotion recogniser then judges the result." if SER_READY else
        "**Verdict:** the speech emotion recogniser is not shipped yet, so this tab shows the conversion and "
        "its pitch contours only (no emotion verdict)."
    )
    gr.Markdown(
        "Make a recording sound emotional: the same words, re-rendered with the prosody of the emotion chosen "
        "above (pitch level, range and contour, tempo and pauses, loudness, spectral tilt, breathiness, "
        "jitter and tremor) by a WORLD vocoder. Works best on clean speech of one speaker. " + verdict_note
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            upload = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech to convert",
                              elem_id="voice-input")
            gr.Markdown(ux.limits_note("audio") + " Sample rate 8-48 kHz, mono or stereo (mixed to mono).")
            words = gr.Textbox(label="Words spoken (optional)", max_lines=2, visible=SER_READY,
                               info="with them the verdict adds word/character error rates (Whisper transcribes "
                                    "the converted audio; a few seconds more)", elem_id="voice-words")
            seed = ux.seed_input(elem_id="voice-seed")
            run = gr.Button("Convert", variant="primary", elem_id="voice-run")
            gr.Examples([[str(EXAMPLE_WAV), EXAMPLE_TEXT if SER_READY else "", 0]], inputs=[upload, words, seed],
                        example_labels=[f"neutral female voice, 2.9 s: \u201c{EXAMPLE_TEXT}\u201d"],
                        label="Example (click it, then Convert)",
                        elem_id="voice-examples")
        with gr.Column(scale=6, min_width=360):
            audio = gr.Audio(label="Converted speech", type="filepath", interactive=False, elem_id="voice-audio")
            figure = gr.Plot(label="Pitch contour and waveform, before and after", show_label=False, elem_id="voice-prosody")
            outputs = [audio, figure]
            if SER_READY:
                outputs.append(gr.Plot(label="Verdict of the speech emotion recogniser", show_label=False, elem_id="voice-verdict"))
            outputs.append(gr.Markdown(elem_id="voice-verdict-text"))
            outputs.append(gr.File(label="Downloads: converted WAV" + (", verdict JSON" if SER_READY else ""),
                                   file_count="multiple", interactive=False, elem_id="voice-download"))
    panel.bind(run.click, convert, [upload, words, seed], outputs, api_name="convert",
               api_description="Re-render a speech recording with the prosody of an emotion.")


def _file(path: Path | str) -> dict[str, Any]:
    """A file argument for gradio_client (what ``gradio_client.handle_file`` builds)."""
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}, "orig_name": Path(path).name}


API_CASES = {
    "convert": {
        "ok": [(_file(EXAMPLE_WAV), "", 0, "angry:0.8")],
        "bad": [
            (None, "", 0, "happy"),  # nothing uploaded
            (_file(Path(__file__).resolve().parent.parent / "README.md"), "", 0, "happy"),  # not audio
            (_file(EXAMPLE_WAV), "", -3, "happy"),  # bad seed
            (_file(EXAMPLE_WAV), "x" * (MAX_TEXT_CHARS + 1), 0, "happy"),  # over-long text
            (_file(EXAMPLE_WAV), "", 0, "suprised:0.4"),  # misspelt emotion
        ],
    }
}
BROWSER_CASE = {
    "examples": "voice-examples",
    "run": "voice-run",
    "outputs": ["voice-audio", "voice-prosody", *(["voice-verdict"] if SER_READY else []), "voice-download"],
}
