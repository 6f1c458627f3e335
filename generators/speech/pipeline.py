"""``EmotionalSpeechPipeline``: text + emotion + voice -> 24 kHz speech, Kokoro-82M with the emotion inside its graph.

    pipe = EmotionalSpeechPipeline.from_pretrained()
    out = pipe("Hello there.", emotion="happy:0.8", voice="jf_alpha", generator=torch.Generator().manual_seed(0))
    out.waveform      # float32 [T] at out.sample_rate (24 kHz)
    out.segments      # per sentence: text, phonemes, start/end (s), word and phone timings

Two engines share the front end, the voices and the timings: ``"direct"`` (the default, ``DEFAULT_ENGINE``: the
rules straight into Kokoro's graph, and the only engine that takes prosody faders) and ``"codec-lm"`` (the prosody
LM samples prosody-codec tokens that Kokoro's decoder speaks, ``_render_lm``).

The direct loop, top to bottom:
  text -> checks and normalisation -> sentences (long ones split at clauses, then words, to <= 510 phonemes)
  -> English G2P (misaki phonemes) -> for each sentence:
     Kokoro front: predicted durations -> the emotion's duration factors (tempo, pauses, accent lengthening)
     -> rounded frames -> Kokoro prosody: F0 and energy for those frames -> the emotion's F0 edits (level, range,
     accents, declination, final contour, tremor, jitter) -> Kokoro decoder -> gain (loudness)
     -> Kokoro's padding silence and decoder tail cut (``speech_bounds``), a pause after each sentence
  -> pieces joined.
The emotion -> parameter rules are ``prosody.ProsodyParams.from_emotion`` (cited there): continuous in the label
mixture, VAD and intensity, and the identity at intensity 0 (plain Kokoro).

``num_candidates`` > 1 renders extra takes with the parameters varied per take (``ProsodyParams.perturbed``, drawn
from ``generator``) and keeps the one the judges prefer (WER + (1 - P(emotion)) + MOS shortfall).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from emotive.conditioning import Emotion, EmotiveError
from emotive.generators.speech.kokoro import (
    DEFAULT_VOICE,
    FRAME_SAMPLES,
    MAX_PHONEMES,
    SAMPLE_RATE,
    Kokoro,
    KokoroError,
    VoiceBank,
)
from emotive.generators.speech.prosody import (
    KOKORO_PAUSES,
    ProsodyParams,
    kokoro_duration_factors,
    kokoro_f0,
    kokoro_gain,
    limit_peaks,
)

MAX_CHARS = 8_000
"""Longest accepted text (about 10 minutes of speech); longer input gets a clear error instead of a very long run."""
ENGINES = ("direct", "codec-lm")
"""``direct``: the rules straight into Kokoro's graph. ``codec-lm``: the prosody LM samples prosody-codec tokens
(durations, F0, energy, level) from phonemes + emotion + voice; Kokoro's decoder speaks them (``prosody_lm``)."""
DEFAULT_ENGINE = "direct"
"""The engine used when none is named (``engine=None``); prosody parameters (faders) always go to ``"direct"``, the
only engine that takes them. The issue's rule makes codec-lm the default when the bench finds it as natural as
direct (Distill-MOS within 0.1) with emotion figures at least as good. On plain sentences it is (bench
``speech-codec-lm``, 2026-12-08: MOS 4.03 vs 4.02, WER 2.0 % vs 3.2 %, recognised 92 % vs 92 %), but with it as the
default (session 14, ``speech-workflows``) text with inline tags lost intelligibility, WER 12.7 % tagged against
2.8 % untagged (the LM speaks each tagged fragment as its own utterance; direct: 2.8 % vs 4.2 %), and the first
streamed audio came after 1.06-1.16 s (direct 0.81-0.98 s), so ``"direct"`` stays the default (prosody-LM model
card, "Default engine")."""
LM_GUIDANCE = 1.0
"""Default strength of the codec-lm engine (its ``guidance_scale``): 0 = the neutral reading, 1 = the emotion as the
LM speaks it, > 1 that emotion's departure from neutral exaggerated (``ProsodyLM.generate``, ``"tracks"``)."""
LM_GUIDANCE_SPACE = "tracks"
"""How the strength knob acts (``ProsodyLM.generate``'s ``guidance_space``): ``"tracks"`` mixes the emotion's and
the neutral reading's token streams per frame, so the departure from neutral grows with the scale (on val takes
30 of 32 label x sentence x voice x seed cases rose monotonically at 0.5 / 1.5 / 3 with ``LM_CFG`` 1.6, 32 of 32
with none, against 14 of 32 for classic guidance on the logits; model card)."""
LM_CFG = 1.6
"""The emotion stream's own classifier-free guidance against the null condition (``generate``'s ``cfg_scale``).
On 48 val takes the shipped LM was recognised as requested in 77 % of takes at 1.6 against 65 % at 1, same MOS
and WER (model card); at strength 1 the take is exactly classic guidance at 1.6."""
LM_TEMPERATURE = 0.0
"""Temperature of the LM's pitch, energy and level tokens (0 = the most likely bin; the durations are still drawn
from the hazard, so every seed gives its own take). Val takes, shipped LM: see its model card's sampling table."""
CLAUSE_PUNCT = frozenset(",;:—–")
REFERENCE_TEXTS = ("The weather report says it will be cloudy tomorrow.", "Please put the books back on the shelf.")
"""Neutral sentences each voice reads once to give the recogniser its speaker reference (reranking)."""
MOS_FLOOR = 4.0
"""Reranking: a take's MOS below this adds (4 - MOS) / 4 to its score."""


SENTENCE_END = frozenset(".!?…")
SENTENCE_PAUSE_S = 0.35
"""Pause after a sentence (scaled by the emotion's pause and tempo factors), inside the 'medium' pause class
(0.2-1 s) of Campione & Véronis (2002)."""
EDGE_PAD_S = 0.05
"""Audio kept before the first and after the last sound of a sentence. Kokoro pads each call with ~0.3 s of
silence before and ~0.6 s of faint decoder noise (about -88 dB) after the speech; Distill-MOS marks that tail
down by 0.3-0.6 on these voices, so it is cut, and the pause between sentences is real silence instead."""
SILENCE_DB = -45.0
"""An edge frame (5 ms) is silence when it is this far below the sentence's loudest frame."""


def speech_bounds(wav: np.ndarray) -> tuple[int, int]:
    """Sample range [a, b) from ``EDGE_PAD_S`` before the first to ``EDGE_PAD_S`` after the last frame within
    ``SILENCE_DB`` of the loudest one; the whole range when nothing is louder."""
    hop = SAMPLE_RATE // 200
    n = len(wav) // hop
    if n == 0:
        return 0, len(wav)
    rms = np.sqrt(np.mean(wav[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1))
    loud = np.nonzero(rms > rms.max() * 10 ** (SILENCE_DB / 20))[0]
    if rms.max() <= 0 or len(loud) == 0:
        return 0, len(wav)
    pad = round(EDGE_PAD_S * SAMPLE_RATE)
    return max(0, loud[0] * hop - pad), min(len(wav), (loud[-1] + 1) * hop + pad)


def _fade(wav: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    """Raised-cosine fade in and out over ``seconds`` (no click at a cut edge)."""
    k = min(round(seconds * SAMPLE_RATE), len(wav) // 2)
    if k > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k))).astype(np.float32)
        wav = wav.copy()
        wav[:k] *= ramp
        wav[-k:] *= ramp[::-1]
    return wav


class SpeechInputError(EmotiveError):
    """Text or options the speech pipeline cannot render."""


@dataclass
class WordTiming:
    """One spoken token: its text and its span in the output (s)."""

    text: str
    start: float
    end: float


@dataclass
class Segment:
    """One rendered piece of the text (a sentence, or part of a long one).

    Attributes:
        text: the piece as written after normalisation.
        phonemes: the Kokoro phonemes spoken (one character per model token).
        start / end: span in the output waveform (s), edge pauses included.
        emotion / voice: what this piece was spoken with.
        words: per token (punctuation included), its span (s).
        phones: per phoneme character, (character, start s, end s).
        params: the prosody parameters applied.
    """

    text: str
    phonemes: str
    start: float
    end: float
    emotion: Emotion
    voice: str
    words: list[WordTiming] = field(default_factory=list)
    phones: list[tuple[str, float, float]] = field(default_factory=list)
    params: ProsodyParams = field(default_factory=ProsodyParams)


@dataclass
class SpeechOutput:
    """Result of :class:`EmotionalSpeechPipeline`.

    Attributes:
        waveform: float32 [T] in [-1, 1] at ``sample_rate`` Hz (24 kHz).
        sample_rate: Hz.
        emotion: the resolved emotion (of the whole request).
        voice: the voice used (canonical name or blend).
        segments: the rendered pieces with their timings (:class:`Segment`).
        engine: which engine spoke.
        scores: per segment, the reranking scores of each take (empty when ``num_candidates == 1``).
    """

    waveform: np.ndarray
    sample_rate: int
    emotion: Emotion
    voice: str
    segments: list[Segment]
    engine: str = DEFAULT_ENGINE
    scores: list[list[dict]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.waveform) / self.sample_rate

    @property
    def chunks(self) -> list[str]:
        return [s.text for s in self.segments]


@dataclass
class SpeechChunk:
    """One piece of a stream: float32 [T] audio at ``sample_rate`` and the segment it speaks."""

    waveform: np.ndarray
    sample_rate: int
    segment: Segment
    index: int


@dataclass
class _Piece:
    """One Kokoro call: a sentence (or part of a long one) in one voice. ``regions``: where an inline tag changes
    the emotion inside it, (index of the first word, emotion) per later part; ``emotion`` holds before the first."""

    text: str
    words: list  # frontend.PhonemeWord
    emotion: Emotion
    voice: str
    regions: tuple[tuple[int, Emotion], ...] = ()

    @property
    def last_emotion(self) -> Emotion:
        return self.regions[-1][1] if self.regions else self.emotion

    def parts(self) -> list[tuple[int, int, Emotion]]:
        """(first word, end word, emotion) per part, in order."""
        starts = [(0, self.emotion), *self.regions]
        ends = [k for k, _ in starts[1:]] + [len(self.words)]
        return [(k, e, emo) for (k, emo), e in zip(starts, ends)]

    def split(self) -> list[_Piece]:
        """One piece per part (the codec-lm engine speaks one emotion per call)."""
        return [_Piece(" ".join(w.text for w in self.words[a:b]), self.words[a:b], emo, self.voice)
                for a, b, emo in self.parts()]


# ---------------------------------------------------------------------- text
def split_sentences(text: str) -> list[str]:
    """Normalised text -> sentences (split after . ! ? followed by space)."""
    return [p.strip() for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p.strip()]


def _check_text(text: object) -> str:
    from emotive.generators.speech.frontend import FrontendError, normalize_text

    if not isinstance(text, str):
        raise SpeechInputError(f"Text must be a string, got {type(text).__name__}.")
    if len(text) > MAX_CHARS:
        raise SpeechInputError(f"Text is {len(text)} characters; the limit is {MAX_CHARS}. Split it into parts.")
    try:
        return normalize_text(text)
    except FrontendError as e:
        raise SpeechInputError(f"Nothing to say: {e}") from None


def _split_long(words: list, keep) -> list[list]:
    """Words of one sentence -> pieces of at most ``MAX_PHONEMES`` tokens, split after clause punctuation,
    else between words."""
    from emotive.generators.speech.frontend import join_words

    def size(ws: list) -> int:
        return len(join_words(ws, keep)[0])

    if size(words) <= MAX_PHONEMES:
        return [words]
    cuts = [i + 1 for i, w in enumerate(words[:-1]) if w.text in CLAUSE_PUNCT] or \
           [i + 1 for i, w in enumerate(words[:-1]) if w.space_after]
    pieces, start = [], 0
    for j, c in enumerate([*cuts, len(words)]):
        nxt = cuts[j + 1] if j + 1 < len(cuts) else len(words)
        if c == len(words) or size(words[start:nxt]) > MAX_PHONEMES:
            piece = words[start:c]
            if size(piece) > MAX_PHONEMES:       # one word longer than a call (never in English): cut its phonemes
                raise SpeechInputError(f"A word is too long to speak: {piece[0].text[:40]!r}.")
            pieces.append(piece)
            start = c
    return [p for p in pieces if p]


# ---------------------------------------------------------------------- pipeline
class EmotionalSpeechPipeline:
    """Kokoro-82M (three steered graphs) + voices + the prosody rules (+ the judges for ``num_candidates > 1``)."""

    def __init__(self, kokoro: Kokoro, voices: VoiceBank, lm_path: str | None = None):
        self.kokoro = kokoro
        self.voice_bank = voices
        self.lm_path = lm_path
        self._judges: dict = {}
        self._lm = None

    @classmethod
    def from_pretrained(cls, path: str | None = None, model: str | None = None, voices: str | None = None,
                        threads: int | None = None) -> EmotionalSpeechPipeline:
        """The packaged Kokoro (no network). ``model`` / ``voices``: the official ``kokoro-v1.0.onnx`` and
        ``voices-v1.0.bin`` for users who have them; ``path``: the prosody LM folder of the codec-lm engine
        (default: the shipped ``pretrained/prosody-lm``, loaded on first use)."""
        try:
            return cls(Kokoro.load(model, threads), VoiceBank.load(voices), path)
        except KokoroError as e:
            raise SpeechInputError(str(e)) from None

    @property
    def voices(self) -> list[str]:
        """Voice names, the default first."""
        return self.voice_bank.names

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    # ------------------------------------------------------------ planning
    def plan(self, text: str, emotion: Emotion, voice: str) -> list[_Piece]:
        """Text -> pieces to render (sentences, long ones split). Raises :class:`SpeechInputError`.

        Inline tags (``tags.py``: ``[sad:0.6]``, ``[voice:jm_kumo]``, ``\\[`` for a bracket) set each piece's
        emotion and voice from where they stand until the next tag. An emotion tag inside a sentence makes a region
        of the same piece (one Kokoro call, the emotion changing at that word); a voice tag there splits the piece.
        ``emotion`` / ``voice`` hold before the first tag.
        """
        from emotive.generators.speech.frontend import kokoro_words
        from emotive.generators.speech.tags import TagError, parse_tags

        if isinstance(text, str) and len(text) > MAX_CHARS:
            _check_text(text)                         # the one "limit" message
        if not isinstance(text, str) or not text.strip():
            _check_text(text)                         # the one "string" / "empty" message

        def check_voice(spec: str) -> str:
            try:
                return self.voice_bank.canonical(spec)
            except KokoroError as e:
                raise SpeechInputError(str(e)) from None

        try:
            spans = parse_tags(text, check_voice)
        except TagError as e:
            raise SpeechInputError(str(e)) from None
        keep = self.kokoro.vocab.__contains__
        pieces: list[_Piece] = []
        for span in spans:
            if not span.text.strip():
                continue
            norm = _check_text(span.text)
            emo = span.emotion if span.emotion is not None else emotion
            vo = span.voice if span.voice is not None else voice
            for s in split_sentences(norm):
                words = [w for w in kokoro_words(s) if w.phonemes or w.text in KOKORO_PAUSES]
                if not any(w.phonemes and w.phonemes not in KOKORO_PAUSES for w in words):
                    continue
                for ws in _split_long(words, keep):
                    pieces.append(_Piece(" ".join(w.text for w in ws), ws, emo, vo))
        if not pieces:
            raise SpeechInputError(f"Nothing to say: no pronounceable words in {text[:60]!r}.")
        return _merge_regions(pieces, keep)

    # ------------------------------------------------------------ rendering
    def _render(self, piece: _Piece, params: list[ProsodyParams], rng: np.random.Generator, pace: float
                ) -> tuple[np.ndarray, Segment]:
        """One Kokoro call; ``params``: one set per part of the piece (``_Piece.parts``). Where the emotion changes
        inside the piece, each token takes its part's duration factors, and F0 and gain cross-fade between the
        parts' versions over ``TRANSITION_S`` (:func:`_part_weights`): the voice never restarts."""
        from emotive.generators.speech.frontend import join_words

        phon, spans = join_words(piece.words, self.kokoro.vocab.__contains__)
        ids = self.kokoro.token_ids(phon)
        style = self.voice_bank.style(piece.voice, len(ids))
        front = self.kokoro.front(ids, style)
        part = np.zeros(len(phon) + 2, np.int64)                     # part of each token (BOS .. EOS)
        for r, (a, _, _) in enumerate(piece.parts()[1:], start=1):
            part[spans[a][0] + 1:] = r
        factors = np.stack([kokoro_duration_factors(phon, p, pace) for p in params])
        frames = np.maximum(1, np.rint(front.durations * factors[part, np.arange(len(part))])).astype(np.int64)
        f0, energy = self.kokoro.prosody(front, frames, style)
        if len(params) == 1:      # no change inside: the rules exactly (no blend, so no rounding through log/exp)
            f0 = kokoro_f0(f0, params[0], rng)
            wav = limit_peaks(self.kokoro.decode(front, frames, f0, energy, style) * kokoro_gain(params[0]))
        else:
            from emotive.generators.speech.prosody_codec import gain_curve

            w = _part_weights(frames, part, len(params))
            f0 = np.exp(np.sum(w * np.log(np.maximum(np.stack([kokoro_f0(f0, p, rng) for p in params]), 1e-3)), 0))
            wav = self.kokoro.decode(front, frames, f0.astype(np.float32), energy, style)
            wav = limit_peaks(wav * gain_curve(w.T @ np.array([p.energy_db for p in params]), len(wav)))
        return self._finish(piece, phon, spans, frames, wav, params[-1], pace, params[0])

    def _render_lm(self, piece: _Piece, rng: np.random.Generator, pace: float, guidance: float
                   ) -> tuple[np.ndarray, Segment]:
        """codec-lm: Kokoro front -> the prosody LM samples codes [1, 4, 2T] (seeded from ``rng``) -> the prosody
        codec decodes them with Kokoro's decoder -> the same trim, pause and timings as ``_render``."""
        from emotive.generators.speech.frontend import join_words
        from emotive.generators.speech.prosody_codec import ProsodyCodec
        from emotive.generators.speech.prosody_lm import ProsodyLM, ProsodyLMError, kokoro_neutral

        if self._lm is None:
            try:
                self._lm = ProsodyLM.from_pretrained(self.lm_path)
            except ProsodyLMError as e:
                raise SpeechInputError(str(e)) from None
        phon, spans = join_words(piece.words, self.kokoro.vocab.__contains__)
        ids = self.kokoro.token_ids(phon)
        style = self.voice_bank.style(piece.voice, len(ids))
        front = self.kokoro.front(ids, style)
        g = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        emo = piece.emotion if piece.emotion.intensity > 0 else Emotion.neutral()  # intensity 0 = plain voice
        neutral = None
        if self._lm.config.neutral_ref:  # the LM samples relative to Kokoro's own neutral reading
            neutral = kokoro_neutral(self.kokoro, front, style)
        # the LM speaks at the emotion's own tempo; the pace then stretches its frames exactly, as in the direct
        # engine (steering the LM by scaling the durations it is shown moved a 10-word take by only 1.23x at pace
        # 1.5 and 0.71x at 0.5)
        codes = self._lm.generate(ids, front.d, front.durations, style, emo, generator=g,
                                  guidance_scale=guidance, pace=1.0, neutral=neutral,
                                  temperature=LM_TEMPERATURE, guidance_space=LM_GUIDANCE_SPACE,
                                  cfg_scale=LM_CFG)
        codec = ProsodyCodec(kokoro=self.kokoro, voices=self.voice_bank)
        feats = codec.dequantize(codes[0]).stretched(pace)
        wav = codec.decode_features(feats, front, style)
        return self._finish(piece, phon, spans, feats.frames, wav, ProsodyParams.from_emotion(piece.emotion), pace)

    def _finish(self, piece: _Piece, phon: str, spans: list, frames: np.ndarray, wav: np.ndarray,
                params: ProsodyParams, pace: float, first: ProsodyParams | None = None) -> tuple[np.ndarray, Segment]:
        """Decoded audio of one piece -> trimmed, faded, sentence pause added (by ``params``, the last part's), and
        its segment (params: ``first``, the first part's, default ``params``) with timings from the frames per
        token [n]."""
        a, b = speech_bounds(wav)
        wav = _fade(wav[a:b])
        if phon.rstrip()[-1:] in SENTENCE_END:
            wav = np.concatenate([wav, np.zeros(round(SENTENCE_PAUSE_S * params.pause / params.tempo * pace
                                                      * SAMPLE_RATE), np.float32)])
        # timings: token i (1..n; 0 and n+1 are BOS/EOS) spans frames [ends[i-1], ends[i]), moved by the trim
        sec = FRAME_SAMPLES / SAMPLE_RATE
        dur = len(wav) / SAMPLE_RATE
        cum = np.concatenate([[0.0], np.cumsum(frames)]) * sec - a / SAMPLE_RATE
        bounds = np.clip(cum, 0.0, (b - a) / SAMPLE_RATE)      # token i spans [bounds[i], bounds[i + 1])
        starts, ends = bounds[:-1], bounds[1:]
        phones = [(c, float(starts[i + 1]), float(ends[i + 1])) for i, c in enumerate(phon)]
        words = [WordTiming(w.text, float(starts[i + 1]), float(ends[j])) for w, (i, j) in zip(piece.words, spans) if j > i]
        seg = Segment(piece.text, phon, 0.0, dur, piece.emotion, piece.voice, words, phones, first or params)
        return wav.astype(np.float32), seg

    def _reference(self, voice: str) -> np.ndarray:
        """The recogniser's speaker reference for ``voice``: mean features of its neutral reading of
        ``REFERENCE_TEXTS`` (rendered once per voice), as the recogniser's card prescribes for a known voice."""
        key = f"ref:{voice}"
        if key not in self._judges:
            ser = self._judges["ser"]
            feats = []
            for text in REFERENCE_TEXTS:
                piece = self.plan(text, Emotion.parse("neutral"), voice)[0]
                wav, _ = self._render(piece, [ProsodyParams()], np.random.default_rng(0), 1.0)
                feats.append(ser.features(wav, SAMPLE_RATE))
            self._judges[key] = np.mean(feats, axis=0)
        return self._judges[key]

    def _score(self, wav: np.ndarray, text: str, emotion: Emotion, voice: str) -> dict:
        """Reranking score of one take (lower is better): WER + (1 - P(requested)) + MOS shortfall."""
        from emotive.evaluators.speech.asr import intelligibility
        from emotive.evaluators.speech.naturalness import naturalness
        from emotive.evaluators.speech.ser import SpeechEmotionRecognizer

        if "ser" not in self._judges:
            self._judges["ser"] = SpeechEmotionRecognizer.from_pretrained()
        v = self._judges["ser"].evaluate(wav, emotion, sr=SAMPLE_RATE, reference=self._reference(voice))
        sc = {"wer": intelligibility(wav, SAMPLE_RATE, text).wer if text else 0.0,
              "p_emotion": float(np.dot(np.asarray(v.probs), np.asarray(emotion.probs))),
              "mos": naturalness(wav, SAMPLE_RATE)}
        sc["score"] = sc["wer"] + (1.0 - sc["p_emotion"]) + max(0.0, MOS_FLOOR - sc["mos"]) / 4
        return sc

    def _speak_piece(self, piece: _Piece, rng: np.random.Generator, num_candidates: int, pace: float,
                     params: ProsodyParams | None = None, engine: str = "direct", guidance: float | None = None
                     ) -> tuple[np.ndarray, Segment, list[dict], list[ProsodyParams]]:
        """The piece's audio (best of ``num_candidates`` takes), its segment, the takes' scores and the chosen
        take's parameters per part."""
        parts = piece.parts()
        base = [params if params is not None else ProsodyParams.from_emotion(emo) for _, _, emo in parts]
        if engine == "codec-lm":  # every take is a new sample of the LM
            gs = LM_GUIDANCE if guidance is None else guidance
            takes = [(*self._render_lm(piece, rng, pace, gs), base) for _ in range(num_candidates)]
        else:
            takes = [(*self._render(piece, base, rng, pace), base)]
            for _ in range(num_candidates - 1):
                varied = [p.perturbed(rng) for p in base]
                takes.append((*self._render(piece, varied, rng, pace), varied))
        if num_candidates == 1:
            return takes[0][0], takes[0][1], [], takes[0][2]
        # the judges score a take against its longest part's emotion
        main = max(parts, key=lambda q: q[1] - q[0])[2]
        scores = [self._score(w, piece.text, main, piece.voice) for w, _, _ in takes]
        best = int(np.argmin([s["score"] for s in scores]))
        return (*takes[best][:2], scores, takes[best][2])

    def _validate(self, emotion, voice, engine, num_candidates, pace, params=None, guidance=None
                  ) -> tuple[Emotion, str]:
        emo = emotion if isinstance(emotion, Emotion) else Emotion.parse(emotion if emotion is not None else "neutral")
        if engine not in ENGINES:
            raise SpeechInputError(f"Unknown engine {str(engine)[:30]!r}; available: {', '.join(ENGINES)}.")
        if engine == "codec-lm" and params is not None:
            raise SpeechInputError("Prosody parameters (faders) act on the direct engine; the codec-lm engine "
                                   "samples its prosody from the emotion.")
        if guidance is not None and not (isinstance(guidance, int | float) and np.isfinite(guidance)
                                         and 0.0 <= guidance <= 5.0):
            raise SpeechInputError("guidance_scale must be a number in [0, 5].")
        if guidance is not None and engine != "codec-lm":
            raise SpeechInputError("guidance_scale is the codec-lm engine's strength knob; the direct engine takes "
                                   "the emotion's intensity (e.g. 'happy:0.5') instead.")
        try:
            voice = self.voice_bank.canonical(voice)
        except KokoroError as e:
            raise SpeechInputError(str(e)) from None
        if not isinstance(num_candidates, int) or isinstance(num_candidates, bool) or not 1 <= num_candidates <= 16:
            raise SpeechInputError("num_candidates must be an integer from 1 to 16.")
        if not (isinstance(pace, int | float) and np.isfinite(pace) and 0.5 <= pace <= 2.0):
            raise SpeechInputError("pace must be a number in [0.5, 2].")
        return emo, voice

    @staticmethod
    def resolve_engine(engine: str | None, params: ProsodyParams | None = None) -> str:
        """The engine a call speaks with: ``engine`` when named, else ``DEFAULT_ENGINE``, or ``"direct"`` when
        prosody parameters (faders) are given, since only the direct engine takes them."""
        if engine is not None:
            return engine
        return "direct" if params is not None else DEFAULT_ENGINE

    @staticmethod
    def _rng(generator: torch.Generator | None) -> np.random.Generator:
        seed = 0 if generator is None else int(torch.randint(0, 2**62, (1,), generator=generator))
        return np.random.default_rng(seed)

    def stream(
        self,
        text: str,
        emotion: Emotion | str | None = None,
        voice: str = DEFAULT_VOICE,
        generator: torch.Generator | None = None,
        engine: str | None = None,
        num_candidates: int = 1,
        pace: float = 1.0,
        params: ProsodyParams | None = None,
        guidance_scale: float | None = None,
    ) -> Iterator[SpeechChunk]:
        """Like ``__call__`` but yields each piece (sentence) as soon as it is rendered; the chunks joined equal
        ``__call__``'s waveform for the same arguments and seed."""
        engine = self.resolve_engine(engine, params)
        emo, voice = self._validate(emotion, voice, engine, num_candidates, pace, params, guidance_scale)
        for i, (wav, seg, _) in enumerate(self._rendered(text, emo, voice, generator, engine, num_candidates, pace,
                                                         params, guidance_scale)):
            yield SpeechChunk(np.clip(wav, -1.0, 1.0), SAMPLE_RATE, seg, i)

    def _rendered(self, text: str, emo: Emotion, voice: str, generator, engine: str, num_candidates: int,
                  pace: float, params: ProsodyParams | None, guidance_scale: float | None, progress: bool = False
                  ) -> Iterator[tuple[np.ndarray, Segment, list[dict]]]:
        """The one rendering loop behind ``stream`` and ``__call__``: (audio, segment at its place in the
        output, reranking scores) per piece."""
        from tqdm import tqdm

        pieces = self.plan(text, emo, voice)
        if engine == "codec-lm":      # the LM speaks one emotion per call: a tag inside a sentence splits it
            pieces = [q for p in pieces for q in p.split()]
        rng = self._rng(generator)
        t = 0.0
        keep = self.kokoro.vocab.__contains__
        for i, piece in enumerate(tqdm(pieces, disable=not progress, desc="speak", unit="sentence")):
            wav, seg, sc, used = self._speak_piece(piece, rng, num_candidates, pace, params, engine, guidance_scale)
            wav, seg = _join(pieces, i, wav, seg)
            for part_wav, part_seg in _split_parts(piece, wav, seg, used, keep):
                part_seg = _shift(part_seg, t)
                t += len(part_wav) / SAMPLE_RATE
                yield part_wav, part_seg, sc

    @torch.no_grad()
    def __call__(
        self,
        text: str,
        emotion: Emotion | str | None = None,
        voice: str = DEFAULT_VOICE,
        generator: torch.Generator | None = None,
        engine: str | None = None,
        num_candidates: int = 1,
        pace: float = 1.0,
        progress: bool = False,
        params: ProsodyParams | None = None,
        guidance_scale: float | None = None,
    ) -> SpeechOutput:
        """Speak ``text``.

        Args:
            text: English text, up to ``MAX_CHARS`` characters (numbers, dates, money, abbreviations are read out).
            emotion: an Emotion or anything ``Emotion.parse`` accepts (label, ``sad:0.6``, mixture, VAD, free
                text); None = neutral. Intensity 0 speaks as the plain voice.
            voice: a name from ``self.voices`` or a same-gender blend such as ``"0.6 jf_alpha + 0.4 jf_nezumi"``.
            generator: the only source of randomness: the variation of extra takes (``num_candidates`` > 1) and the
                codec-lm engine's sampling. The direct engine's first take is the rules exactly, whatever the seed.
            engine: ``"direct"`` (the rules in Kokoro's graph) or ``"codec-lm"`` (the prosody LM's tokens through
                Kokoro's decoder); None = ``DEFAULT_ENGINE`` (direct), and direct whenever ``params`` are given.
            num_candidates: takes per sentence (1-16); > 1 keeps the take the judges score best.
            pace: > 1 slower, < 1 faster (0.5-2), on top of the emotion's tempo.
            progress: a progress bar over sentences.
            params: prosody parameters to apply instead of the emotion's rules (the corpus varies them per
                utterance; every field is also a fader). Direct engine only.
            guidance_scale: codec-lm only: classifier-free guidance on the emotion (the strength knob; None =
                ``LM_GUIDANCE``).
        Returns:
            :class:`SpeechOutput`.
        """
        engine = self.resolve_engine(engine, params)
        emo, voice = self._validate(emotion, voice, engine, num_candidates, pace, params, guidance_scale)
        wavs, segs, scores = [], [], []
        for wav, seg, sc in self._rendered(text, emo, voice, generator, engine, num_candidates, pace, params,
                                           guidance_scale, progress):
            wavs.append(wav)
            segs.append(seg)
            if sc:
                scores.append(sc)
        wav = np.clip(np.concatenate(wavs), -1.0, 1.0).astype(np.float32)
        return SpeechOutput(wav, SAMPLE_RATE, emo, voice, segs, engine, scores)


TAG_PAUSE_S = 0.12
"""Longest pause kept on each side of a tag inside a sentence that splits it (a voice change, or any change in the
codec-lm engine) (a comma's pause is ~0.1-0.3 s, Campione & Véronis
2002): each piece brings its own edge pauses, stretched by slow emotions (0.55 s before a [sad] part), which would
otherwise break the sentence in two."""
RAMP_S = 0.010
"""Raised-cosine fade at each side of an emotion or voice change: the edges are near-silent already (~1e-5), the
ramp makes sure a trimmed pause never starts on a step."""
SENTENCE_END = frozenset(".!?…")


def _join(pieces: list[_Piece], i: int, wav: np.ndarray, seg: Segment) -> tuple[np.ndarray, Segment]:
    """Piece ``i``'s audio as it meets its neighbours: where the emotion or voice changes (a tag), the pauses at a
    sentence-internal change are shortened to ``TAG_PAUSE_S`` and both sides fade over ``RAMP_S``. Elsewhere the
    audio is untouched, so text without tags renders exactly as before. Segment times are relative (start 0)."""
    piece = pieces[i]

    def changed(a: _Piece, b: _Piece) -> bool:
        return a.last_emotion != b.emotion or a.voice != b.voice

    def inside(a: _Piece) -> bool:          # does the sentence go on after piece a?
        return not a.words or a.words[-1].text not in SENTENCE_END

    before = i > 0 and changed(pieces[i - 1], piece)
    after = i + 1 < len(pieces) and changed(piece, pieces[i + 1])
    if not (before or after):
        return wav, seg
    sr = SAMPLE_RATE
    lead = int(max(0.0, seg.phones[0][1] - TAG_PAUSE_S) * sr) if before and inside(pieces[i - 1]) and seg.phones else 0
    tail_at = len(wav)
    if after and inside(piece) and seg.phones:
        tail_at = min(len(wav), int(np.ceil((seg.phones[-1][2] + TAG_PAUSE_S) * sr)))
    full = len(wav)
    wav = wav[lead:tail_at].copy()
    n = min(int(RAMP_S * sr), len(wav) // 2)
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
    if before:
        wav[:n] *= ramp
    if after:
        wav[len(wav) - n:] *= ramp[::-1]
    if lead or tail_at < full:
        d, end = lead / sr, len(wav) / sr
        seg.end = end
        seg.words = [WordTiming(w.text, min(max(0.0, w.start - d), end), min(max(0.0, w.end - d), end)) for w in seg.words]
        seg.phones = [(c, min(max(0.0, a - d), end), min(max(0.0, b - d), end)) for c, a, b in seg.phones]
    return wav, seg


def _shift(seg: Segment, t: float) -> Segment:
    """The segment moved ``t`` seconds later."""
    seg.start += t
    seg.end += t
    seg.words = [WordTiming(w.text, w.start + t, w.end + t) for w in seg.words]
    seg.phones = [(c, s + t, e + t) for c, s, e in seg.phones]
    return seg


TRANSITION_S = 0.16
"""Where an emotion tag stands inside a sentence, F0 and loudness glide from one part's values to the next over
this long, centred on the first sound of the tagged word (about a syllable: the change lands on that word)."""


def _merge_regions(pieces: list[_Piece], keep) -> list[_Piece]:
    """Pieces that an emotion tag split inside one sentence (same voice, the sentence goes on) -> one piece with
    regions, when the joined piece still fits one Kokoro call."""
    from emotive.generators.speech.frontend import join_words

    out: list[_Piece] = []
    for p in pieces:
        if out:
            a = out[-1]
            if (a.words and a.words[-1].text not in SENTENCE_END and a.voice == p.voice
                    and a.last_emotion != p.emotion
                    and len(join_words([*a.words, *p.words], keep)[0]) <= MAX_PHONEMES):
                n = len(a.words)
                out[-1] = _Piece(f"{a.text} {p.text}", [*a.words, *p.words], a.emotion, a.voice,
                                 (*a.regions, (n, p.emotion), *((k + n, e) for k, e in p.regions)))
                continue
        out.append(p)
    return out


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _part_weights(frames: np.ndarray, part: np.ndarray, n_parts: int) -> np.ndarray:
    """Weight of each part per F0 frame [n_parts, 2T] (columns sum to 1): part r's weight rises over
    ``TRANSITION_S`` centred on its first token's first frame, and falls where part r + 1 rises."""
    t = np.arange(2 * int(frames.sum())) + 0.5
    width = TRANSITION_S * SAMPLE_RATE / (FRAME_SAMPLES / 2)
    starts = 2 * np.concatenate([[0], np.cumsum(frames)])
    rise = [np.ones_like(t)] + [_smoothstep((t - starts[int(np.argmax(part == r))]) / width + 0.5)
                                for r in range(1, n_parts)] + [np.zeros_like(t)]
    return np.stack([rise[r] - rise[r + 1] for r in range(n_parts)])


def _split_parts(piece: _Piece, wav: np.ndarray, seg: Segment, params: list[ProsodyParams], keep
                 ) -> list[tuple[np.ndarray, Segment]]:
    """A piece's audio and segment -> one (audio, segment) per part, cut where each later part's first word starts
    (the stream yields them in turn; joined they are the piece's audio)."""
    parts = piece.parts()
    if len(parts) == 1:
        return [(wav, seg)]
    from emotive.generators.speech.frontend import join_words

    _, spans = join_words(piece.words, keep)
    kept = [k for k, (i, j) in enumerate(spans) if j > i]          # seg.words[m] is piece.words[kept[m]]
    chars = [spans[a][0] for a, _, _ in parts] + [len(seg.phones)]
    times = [0.0] + [seg.phones[c][1] if c < len(seg.phones) else seg.end for c in chars[1:-1]] + [seg.end]
    cuts = [round(x * SAMPLE_RATE) for x in times]
    cuts[-1] = len(wav)
    out = []
    for r, (a, b, emo) in enumerate(parts):
        words = [w for m, w in enumerate(seg.words) if a <= kept[m] < b]
        sub = Segment(" ".join(w.text for w in piece.words[a:b]), seg.phonemes[chars[r]:chars[r + 1]],
                      cuts[r] / SAMPLE_RATE, cuts[r + 1] / SAMPLE_RATE, emo, seg.voice, words,
                      seg.phones[chars[r]:chars[r + 1]], params[r])
        out.append((wav[cuts[r]:cuts[r + 1]], _shift(sub, -cuts[r] / SAMPLE_RATE)))
    return out
