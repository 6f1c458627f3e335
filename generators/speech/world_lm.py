"""``WorldLMPipeline``: the first codec-LM TTS (WORLD-parameter codec + its LM, six corpus voices), kept only to be
measured side by side with the Kokoro engine (``pipeline.py``) until the prosody-token codec LM replaces it.

    pipe = WorldLMPipeline.from_pretrained()
    out = pipe("Hello there.", emotion="happy:0.8", voice="slt", generator=torch.Generator().manual_seed(0))
    out.waveform  # float32 [T] at out.sample_rate (16 kHz)

The loop, top to bottom: normalise text -> split into sentences (and overly long
sentences at clause/word boundaries) -> phonemes with pauses at punctuation ->
for each chunk the LM samples codec tokens (``num_candidates`` takes, reranked
by the speech evaluators) -> chunks joined by pause codes -> one codec decode.

With the WORLD codec the spectral envelope is decoded from the LM's distributions
(``envelope="expected"``: each RVQ stage's expected codeword) rather than from the
sampled envelope tokens; F0 and aperiodicity come from the sampled tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from emotive.conditioning import Emotion
from emotive.generators.speech.codec import SpeechCodec, load_codec
from emotive.generators.speech.lm import CodecLM, LMError, phone_ids
from emotive.generators.speech.pipeline import SpeechInputError, split_sentences

MAX_CHARS = 8_000
"""Longest accepted text (about 13 minutes of speech at the measured 10 characters per second); longer input gets a
clear error instead of a very long run. Measured with the CLI (2026-11-22): 20,000 characters took 284 s and
peaked at 4.9 GB of memory for 23.5 minutes of audio."""
MAX_CHUNK_PHONES = 160
"""Chunks longer than this (about 20 words) are split at clause, then word boundaries (keeps each LM run short)."""
SENTENCE_PAUSE_S = 0.4
"""Pause between sentences, inside the 'medium' pause class (0.2-1 s) of Campione & Véronis (2002)."""
CLAUSE_PUNCT = ",;:—–"
F0_SMOOTH = 5
"""WORLD codec: median filter (code frames) on the sampled log-F0 before synthesis; frames are sampled
independently of each other by default (``history=False``), so single-frame pitch jumps are removed."""
TRAINED_MIN_INTENSITY = 0.5
"""The corpus speaks each label at intensities 0.5-1 (``corpus.py``); weaker requests are interpolated toward neutral."""


@dataclass
class WorldLMOutput:
    """Result of :class:`WorldLMPipeline`.

    Attributes:
        waveform: float32 [T] in [-1, 1] at ``sample_rate`` Hz.
        sample_rate: Hz.
        codes: LongTensor [1, K, T_frames] at the codec frame rate (pauses included): the pipeline's
            ``decode(codes, envelope)`` reproduces ``waveform``.
        phonemes: per chunk, the phones spoken (lowercase ARPAbet, ``pau`` = pause).
        emotion: the resolved emotion.
        voice: the voice used.
        chunks: the text of each chunk.
        scores: per chunk, the reranking scores of each candidate (empty when ``num_candidates == 1``).
        envelope: WORLD codec with ``envelope="expected"``: the coded envelope [T_frames, D] that was
            synthesised (the expected value under the LM); None when the envelope tokens were decoded.
    """

    waveform: np.ndarray
    sample_rate: int
    codes: torch.Tensor
    phonemes: list[list[str]]
    emotion: Emotion
    voice: str
    chunks: list[str] = field(default_factory=list)
    scores: list[list[dict]] = field(default_factory=list)
    envelope: np.ndarray | None = None

    @property
    def duration(self) -> float:
        return len(self.waveform) / self.sample_rate


# ---------------------------------------------------------------------- text
def chunk_phones(sentence: str) -> list[tuple[str, list[str]]]:
    """One normalised sentence -> [(chunk text, phones with pauses)], each at most ``MAX_CHUNK_PHONES`` phones.

    Pauses (``pau``) go at the start, at clause punctuation and at the end, as in the corpus timings.
    """
    from emotive.generators.speech.frontend import phonemize_words

    clauses = [c.strip() for c in re.split(rf"[{CLAUSE_PUNCT}]", sentence) if c.strip()]
    words: list[tuple[str, list[str]]] = []   # (word text, phones); ("", ["pau"]) marks a clause pause
    for ci, clause in enumerate(clauses):
        spoken = re.sub(r"[^\w' -]", " ", clause)
        if not spoken.strip():
            continue
        tokens = spoken.split()
        ph = phonemize_words(spoken, normalize=False)
        if not ph:
            continue
        # espeak may merge/split words; keep its grouping, attach text loosely
        for i, w in enumerate(ph):
            words.append((tokens[i] if i < len(tokens) else "", [p.lower() for p in w]))
        if ci < len(clauses) - 1:
            words.append(("", ["pau"]))
    chunks: list[tuple[str, list[str]]] = []
    cur_t: list[str] = []
    cur_p: list[str] = ["pau"]
    for text, ph in words:
        if len(cur_p) + len(ph) + 1 > MAX_CHUNK_PHONES and len(cur_p) > 1:
            chunks.append((" ".join(cur_t), [*cur_p, "pau"] if cur_p[-1] != "pau" else cur_p))
            cur_t, cur_p = [], ["pau"]
        if ph == ["pau"] and cur_p[-1] == "pau":
            continue
        cur_p.extend(ph[: MAX_CHUNK_PHONES - 2])
        if text:
            cur_t.append(text)
    if len(cur_p) > 1:
        chunks.append((" ".join(cur_t), [*cur_p, "pau"] if cur_p[-1] != "pau" else cur_p))
    return chunks


def text_to_chunks(text: str) -> list[tuple[str, list[str]]]:
    """Raw text -> [(chunk text, phones)]. Raises :class:`SpeechInputError` when nothing speakable is left."""
    from emotive.generators.speech.frontend import FrontendError, normalize_text

    if not isinstance(text, str):
        raise SpeechInputError(f"Text must be a string, got {type(text).__name__}.")
    if len(text) > MAX_CHARS:
        raise SpeechInputError(f"Text is {len(text)} characters; the limit is {MAX_CHARS}. Split it into parts.")
    try:
        norm = normalize_text(text)
    except FrontendError as e:
        raise SpeechInputError(f"Nothing to say: {e}") from None
    out: list[tuple[str, list[str]]] = []
    for s in split_sentences(norm):
        out.extend(chunk_phones(s))
    if not out:
        raise SpeechInputError(f"Nothing to say: no pronounceable words in {text[:60]!r}.")
    return out


# ---------------------------------------------------------------------- pipeline
def emotion_condition(emotion: Emotion) -> torch.Tensor:
    """The LM's emotion features [12] for an Emotion.

    Within the trained intensity range (>= ``TRAINED_MIN_INTENSITY``) these are the emotion's own
    features. Below it the LM never saw the label, so the features are interpolated linearly from
    neutral (intensity 0) to the label at the lowest trained intensity: intensity 0 speaks neutrally
    and the strength rises continuously from there.
    """
    from emotive.conditioning.encoder import emotion_features

    lo = TRAINED_MIN_INTENSITY
    # VAD points were trained at every strength (the corpus samples them uniformly); labels/mixtures were not
    if emotion.intensity >= lo or emotion.label == "neutral" or emotion.source == "vad":
        return emotion_features([emotion])[0]
    w = emotion.intensity / lo
    a, b = emotion_features([Emotion.from_label("neutral", 1.0), emotion.with_intensity(lo)])
    return (1 - w) * a + w * b


class WorldLMPipeline:
    """Codec LM + codec (+ the speech evaluators for ``num_candidates > 1``)."""

    def __init__(self, codec: SpeechCodec, lm: CodecLM):
        if lm.config.num_codebooks > codec.num_codebooks or lm.config.codebook_size != codec.codebook_size:
            raise LMError("The LM and codec do not match (codebook count/size).")
        self.codec = codec
        self.lm = lm.eval()
        self._pause_code: torch.Tensor | None = None
        self._judges = None

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> WorldLMPipeline:
        """``path`` holds ``codec/`` and ``lm/`` folders; ``None`` = the embedded weights (no network)."""
        if path is None:
            return cls(load_codec(), CodecLM.from_pretrained())
        p = Path(path)
        return cls(load_codec(p / "codec"), CodecLM.from_pretrained(p / "lm"))

    def save_pretrained(self, path: str | Path) -> None:
        p = Path(path)
        self.codec.save_pretrained(p / "codec")
        self.lm.save_pretrained(p / "lm")

    @property
    def voices(self) -> list[str]:
        return list(self.lm.config.voices)

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    @property
    def _world(self) -> bool:
        return getattr(getattr(self.codec, "config", None), "codec_type", "") == "world"

    def decode(self, codes: torch.Tensor, envelope: np.ndarray | None = None) -> np.ndarray:
        """Codes [1, K, T] -> float32 waveform [T * hop] (WORLD codec: F0 median-smoothed, ``F0_SMOOTH``;
        ``envelope`` [T, D], if given, replaces the envelope the tokens code)."""
        if not self._world:
            return self.codec.decode(codes)[0, 0].numpy().astype(np.float32)
        if envelope is None:
            return self.codec.decode(codes, f0_smooth=F0_SMOOTH)[0, 0].numpy().astype(np.float32)
        fr = self.codec.dequantise(codes[0].long().numpy())
        if envelope.shape != fr.env.shape:
            raise SpeechInputError(f"envelope {envelope.shape} does not fit the codes (expected {fr.env.shape}).")
        fr.env = np.asarray(envelope, np.float32)
        return self.codec.synthesise(fr, F0_SMOOTH).astype(np.float32)

    def _take(self, codes: torch.Tensor, probs: torch.Tensor | None) -> np.ndarray | None:
        """The expected envelope [T, D] of one take (None when tokens are decoded)."""
        if probs is None:
            return None
        k = self.codec.config.env_codebooks
        return self.codec.expected_envelope(probs[0, 1: 1 + k].numpy())

    def _pause(self, seconds: float) -> torch.Tensor:
        """Codes [1, K, n] of silence (the codec's own code for digital silence)."""
        if self._pause_code is None:
            z = np.zeros(self.codec.hop_length * 8, np.float32)
            c = self.codec.encode(z)[:, : self.lm.config.num_codebooks]
            self._pause_code = c[:, :, 4:5]             # a frame away from the edges
        n = max(1, round(seconds * self.codec.frame_rate))
        return self._pause_code.expand(-1, -1, n).clone()

    def _score(self, wav: np.ndarray, text: str, emotion: Emotion) -> dict:
        """Reranking score of one take: WER (Whisper tiny.en) + (1 - P(requested label)) from the recogniser."""
        from emotive.evaluators.speech.asr import intelligibility

        sc: dict = {}
        try:
            it = intelligibility(wav, self.sample_rate, text) if text else None
            sc["wer"] = it.wer if it else 0.0
        except Exception as e:
            sc["wer"], sc["wer_error"] = 0.0, str(e)
        try:
            if self._judges is None:
                from emotive.evaluators.speech.ser import SpeechEmotionRecognizer

                self._judges = SpeechEmotionRecognizer.from_pretrained()
            v = self._judges.evaluate(wav, emotion, sr=self.sample_rate)
            # Verdict.probs and Emotion.probs share the LABELS order
            sc["p_emotion"] = float(np.dot(np.asarray(v.probs), np.asarray(emotion.probs)))
        except Exception as e:
            sc["p_emotion"], sc["ser_error"] = 0.0, str(e)
        sc["score"] = sc["wer"] + (1.0 - sc["p_emotion"])
        return sc

    @torch.no_grad()
    def __call__(
        self,
        text: str,
        emotion: Emotion | str | None = None,
        voice: str = "slt",
        generator: torch.Generator | None = None,
        num_candidates: int = 1,
        guidance_scale: float = 1.5,
        temperature: float = 0.3,
        top_k: int = 50,
        top_p: float = 0.95,
        pace: float = 1.0,
        progress: bool = False,
        history: bool = False,
        envelope: str = "expected",
    ) -> WorldLMOutput:
        """Speak ``text``.

        Args:
            text: English text (numbers, dates, abbreviations are read out; emoji/unknown symbols dropped).
            emotion: an Emotion or anything ``Emotion.parse`` accepts; None = neutral.
            voice: one of ``self.voices`` (joe, slt, kal, ked, rms, awb).
            generator: the only source of randomness.
            num_candidates: takes per chunk; >1 keeps the take with the lowest WER + (1 - P(emotion)).
            guidance_scale: classifier-free guidance on emotion (1 = plain conditional; higher = stronger).
            temperature / top_k / top_p: token sampling.
            pace: >1 slower, <1 faster (scales predicted durations).
            history: feed sampled tokens back into the LM (autoregressive). The default (False) samples
                every frame from the phones, voice and emotion only, which the bench measured as far more
                intelligible with this LM (see its MODEL_CARD); True is kept for comparison.
            envelope: WORLD codec only. "expected" synthesises each frame's spectral envelope as the
                expected value of the LM's envelope distributions (measured more intelligible and more
                emotional than the sampled tokens; see the LM MODEL_CARD); "sampled" decodes the tokens.
        Returns:
            :class:`WorldLMOutput`.
        """
        emo = emotion if isinstance(emotion, Emotion) else Emotion.parse(emotion if emotion is not None else "neutral")
        if voice not in self.voices:
            raise SpeechInputError(f"Unknown voice {voice!r}; available: {', '.join(self.voices)}.")
        if not isinstance(num_candidates, int) or not 1 <= num_candidates <= 16:
            raise SpeechInputError("num_candidates must be an integer from 1 to 16.")
        if not 0.25 <= pace <= 4.0:
            raise SpeechInputError("pace must be in [0.25, 4].")
        if envelope not in ("expected", "sampled"):
            raise SpeechInputError("envelope must be 'expected' or 'sampled'.")
        for name, value in (("guidance_scale", guidance_scale), ("temperature", temperature)):
            if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
                raise SpeechInputError(f"{name} must be a finite number >= 0, got {value!r}.")
        soft = envelope == "expected" and self._world
        chunks = text_to_chunks(text)
        from tqdm import tqdm

        pieces: list[torch.Tensor] = []
        envs: list[np.ndarray | None] = []
        scores: list[list[dict]] = []
        cond = emotion_condition(emo)
        for i, (ctext, phones) in enumerate(tqdm(chunks, disable=not progress, desc="speak")):
            ids = phone_ids(phones)
            takes = []
            for _ in range(num_candidates):
                r = self.lm.generate(ids, voice, cond, generator=generator, guidance_scale=guidance_scale,
                                     temperature=temperature, top_k=top_k, top_p=top_p, pace=pace,
                                     history=history, return_probs=soft)
                codes_i, probs_i = r if soft else (r, None)
                takes.append((codes_i, self._take(codes_i, probs_i)))
            best = 0
            if num_candidates > 1:
                sc = [self._score(self.decode(c, e), ctext, emo) for c, e in takes]
                best = int(np.argmin([s["score"] for s in sc]))
                scores.append(sc)
            pieces.append(takes[best][0])
            envs.append(takes[best][1])
            if i < len(chunks) - 1:
                pieces.append(self._pause(SENTENCE_PAUSE_S))
                envs.append(None)
        codes = torch.cat(pieces, -1)
        env = None
        if soft:
            # pause frames keep the envelope their (silence) tokens code
            env = np.concatenate([e if e is not None else self.codec.dequantise(p[0].long().numpy()).env
                                  for p, e in zip(pieces, envs)])
        wav = self.decode(codes, env)
        wav = np.clip(wav, -1.0, 1.0)
        return WorldLMOutput(wav, self.sample_rate, codes, [p for _, p in chunks], emo, voice,
                            [t for t, _ in chunks], scores, env)
