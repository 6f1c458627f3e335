"""``MusicPipeline``: emotion -> attribute targets -> prior samples bar codes -> VQ-VAE decodes bars -> MIDI.

>>> pipe = MusicPipeline.from_pretrained()                            # doctest: +SKIP
>>> out = pipe(emotion="sad", bars=16, generator=torch.Generator().manual_seed(0))  # doctest: +SKIP
>>> out.write_midi("song.mid"); out.write_wav("song.wav"); out.write_pianoroll("roll.png")  # doctest: +SKIP

The loop, top to bottom (``__call__``):
1. the emotion (plus user faders ``tempo``/``mode``/``density``) becomes attribute
   targets (``attributes.targets_from_emotion``);
2. the prior samples ``bars x K`` codes autoregressively with classifier-free
   guidance, from a sliding window of ``window_bars`` bars;
3. the VQ-VAE decoder turns each bar's codes into its step grid -> notes;
4. if the melody's measured mode (Krumhansl-Schmuckler) differs from the target,
   it is rewritten major<->minor on its tonic (the same operation that made the
   training counterfactuals); the output records whether this happened;
5. rendering: key/register shift, tempo, velocity with metrical accents,
   articulation -> a ``pretty_midi.PrettyMIDI`` (piano).
All randomness comes from the passed ``torch.Generator``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from emotive.conditioning import Emotion, EmotiveError
from emotive.conditioning.encoder import emotion_features, guided
from emotive.conditioning.files import atomic_output, check_output
from emotive.evaluators.music.attributes import NoteList, estimate_key, read_midi
from emotive.evaluators.music.evaluator import parse_music_emotion
from emotive.generators.music.attributes import (
    AttributeTargets,
    MusicInputError,
    register_class_for,
    rewrite_mode,
    targets_from_emotion,
)
from emotive.generators.music.prior import NUM_DENSITY, NUM_MODES, NUM_REGISTER, CodePrior, PriorConfig
from emotive.generators.music.tokenizer import STEPS_PER_BAR, BarTokenizer, bars_to_grid, grid_to_bars
from emotive.generators.music.vqvae import BarVQVAE, VQVAEConfig

FORMAT_VERSION = 1
MAX_BARS = 512
MIDI_SUFFIXES = (".mid", ".midi")
"""File-name endings of the MIDI output."""
DEFAULT_NAME = "emotive-music-v1"
DEFAULT_PATH = Path(__file__).resolve().parent / "pretrained" / DEFAULT_NAME
PROGRAM = 0  # General MIDI acoustic grand piano

Bars = list[list[tuple[int, int, int]]]


@dataclass
class MusicOutput:
    """A composition.

    Attributes:
        midi: the rendered ``pretty_midi.PrettyMIDI``.
        bars: bars of ``(step 0..15, pitch, length in sixteenths)`` as rendered (final key).
        codes: ``[bars, K]`` bar codes (prompt bars included) in the model's key space.
        emotion: the requested emotion; ``targets``: the attribute targets used.
        key: the rendered key, e.g. ``"D minor"``; ``mode_rewritten``: step 4 changed the mode.
        prompt_bars: how many leading bars came from a continued MIDI file.
        seconds: wall time of composing (prior + decoder + rendering the MIDI object).
    """

    midi: object
    bars: Bars
    codes: torch.Tensor
    emotion: Emotion
    targets: AttributeTargets
    key: str
    mode_rewritten: bool
    prompt_bars: int = 0
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return float(self.midi.get_end_time())

    def write_midi(self, path: str | Path, overwrite: bool = False) -> Path:
        with atomic_output(path, overwrite, MIDI_SUFFIXES) as tmp:
            self.midi.write(str(tmp))
        return Path(path)

    def render_audio(self, sample_rate: int = 22050) -> np.ndarray:
        """Audio preview ``[samples]`` float32 in [-1, 1], FluidSynth with pretty_midi's GM soundfont (TimGM6mb)."""
        try:
            audio = self.midi.fluidsynth(fs=sample_rate)
        except Exception as exc:  # missing libfluidsynth / pyfluidsynth
            raise EmotiveError(f"Audio rendering needs FluidSynth (pyfluidsynth + libfluidsynth): {exc}") from None
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        return (audio / peak * 0.9 if peak > 0 else audio).astype(np.float32)

    def write_wav(self, path: str | Path, sample_rate: int = 22050, overwrite: bool = False) -> Path:
        import soundfile as sf

        check_output(path, overwrite, (".wav",))
        audio = self.render_audio(sample_rate)
        with atomic_output(path, overwrite, (".wav",)) as tmp:
            sf.write(str(tmp), audio, sample_rate, format="WAV")
        return Path(path)

    def write_pianoroll(self, path: str | Path, overwrite: bool = False) -> Path:
        """A piano-roll PNG: time in bars, MIDI pitch, note colour = velocity."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        check_output(path, overwrite, (".png",))
        fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(self.bars)), 3.2))
        notes = [n for inst in self.midi.instruments for n in inst.notes]
        spb = 240.0 / self.targets.tempo_bpm  # seconds per 4/4 bar
        cmap = plt.get_cmap("viridis")
        for n in notes:
            ax.add_patch(Rectangle((n.start / spb, n.pitch - 0.4), (n.end - n.start) / spb, 0.8,
                                   color=cmap(n.velocity / 127), lw=0))
        if self.prompt_bars:
            ax.axvline(self.prompt_bars, color="red", lw=1, ls="--")
        pitches = [n.pitch for n in notes] or [60]
        ax.set_xlim(0, len(self.bars))
        ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
        ax.set_xticks(range(len(self.bars) + 1))
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("bar")
        ax.set_ylabel("MIDI pitch")
        ax.set_title(f"{self.emotion.label} · {self.key} · {self.targets.tempo_bpm:.0f} BPM", fontsize=10)
        fig.tight_layout()
        with atomic_output(path, overwrite, (".png",)) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        return Path(path)


class MusicPipeline:
    """VQ-VAE + prior + tokenizer, with ``from_pretrained`` / ``save_pretrained`` and ``__call__``."""

    def __init__(
        self,
        vqvae: BarVQVAE,
        prior: CodePrior,
        tokenizer: BarTokenizer | None = None,
        window_bars: int = 16,
        corpus_stats: dict | None = None,
        metrics: dict | None = None,
    ) -> None:
        self.vqvae = vqvae.eval()
        self.prior = prior.eval()
        self.tokenizer = tokenizer or BarTokenizer()
        self.window_bars = window_bars
        self.corpus_stats = corpus_stats or {}
        self.metrics = metrics or {}

    # ------------------------------------------------------------------ persistence
    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> MusicPipeline:
        """Load ``config.json`` + ``model.safetensors`` (default: the embedded ``emotive-music-v1``)."""
        from safetensors.torch import load_file

        p = Path(path) if path is not None else DEFAULT_PATH
        if not (p / "config.json").is_file() or not (p / "model.safetensors").is_file():
            raise EmotiveError(f"No music model at '{p}' (needs config.json and model.safetensors).")
        cfg = json.loads((p / "config.json").read_text())
        if cfg.get("format_version") != FORMAT_VERSION:
            raise EmotiveError(f"'{p}' has music model format {cfg.get('format_version')}; this code reads {FORMAT_VERSION}.")
        vq = BarVQVAE(VQVAEConfig(**cfg["vqvae"]))
        prior = CodePrior(PriorConfig(**cfg["prior"]))
        state = load_file(str(p / "model.safetensors"))
        vq.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("vqvae.")})
        prior.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("prior.")})
        tok = BarTokenizer(**cfg["tokenizer"])
        return cls(vq, prior, tok, cfg["window_bars"], cfg.get("corpus_stats"), cfg.get("metrics"))

    def save_pretrained(self, path: str | Path, overwrite: bool = False) -> Path:
        from safetensors.torch import save_file

        p = Path(path)
        if (p / "model.safetensors").exists() and not overwrite:
            raise EmotiveError(f"'{p}' already holds a model; pass overwrite=True to replace it.")
        p.mkdir(parents=True, exist_ok=True)
        state = {f"vqvae.{k}": v.contiguous() for k, v in self.vqvae.state_dict().items()}
        state |= {f"prior.{k}": v.contiguous() for k, v in self.prior.state_dict().items()}
        cfg = {
            "format_version": FORMAT_VERSION,
            "vqvae": self.vqvae.config.to_dict(),
            "prior": self.prior.config.to_dict(),
            "tokenizer": {"pitch_low": self.tokenizer.pitch_low, "pitch_high": self.tokenizer.pitch_high},
            "window_bars": self.window_bars,
            "corpus_stats": self.corpus_stats,
            "metrics": self.metrics,
        }
        with atomic_output(p / "model.safetensors", overwrite=True) as tmp:
            save_file(state, str(tmp))
        with atomic_output(p / "config.json", overwrite=True) as tmp:
            tmp.write_text(json.dumps(cfg, indent=2))
        return p

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample_codes(
        self,
        num_bars: int,
        cond: torch.Tensor,
        uncond: torch.Tensor,
        generator: torch.Generator,
        prefix: torch.Tensor | None = None,
        guidance_scale: float = 1.5,
        temperature: float = 0.9,
        top_k: int | None = 32,
    ) -> torch.Tensor:
        """Sample ``[num_bars, K]`` new codes after an optional ``prefix [P, K]``; returns prefix + new codes.

        A sliding window of ``window_bars`` bars bounds the context; CFG mixes the
        conditional and null-condition logits: ``uncond + s * (cond - uncond)``.
        """
        k = self.prior.config.codes_per_bar
        bos = self.prior.config.bos_id
        codes = [] if prefix is None else prefix.reshape(-1).tolist()
        total = (0 if prefix is None else len(prefix)) + num_bars
        both = torch.cat([cond, uncond], 0)
        cache, win_start, fed = None, -1, 0
        for _ in range(num_bars * k):
            start_bar = max(0, len(codes) // k - (self.window_bars - 1))
            if start_bar != win_start:  # (re)build the key/value cache for the current window
                win_start, cache = start_bar, self.prior.new_cache()
                seq = torch.tensor([[bos, *codes[start_bar * k :]]] * 2)
                tb = torch.full((2,), total - start_bar)
                logits = self.prior(seq, both, tb, cache, 0)[:, -1]
                fed = seq.shape[1]
            else:
                logits = self.prior(torch.tensor([[codes[-1]]] * 2), both, tb, cache, fed)[:, -1]
                fed += 1
            lg = guided(logits[:1], logits[1:], guidance_scale)[0] / max(temperature, 1e-4)
            if top_k is not None and top_k < lg.numel():
                kth = torch.topk(lg, top_k).values[-1]
                lg = lg.masked_fill(lg < kth, float("-inf"))
            nxt = torch.multinomial(torch.softmax(lg, -1), 1, generator=generator)
            codes.append(int(nxt))
        return torch.tensor(codes).view(-1, k)

    def decode_codes(self, codes: torch.Tensor) -> Bars:
        """``[N, K]`` codes -> bars of notes (model key space)."""
        with torch.no_grad():
            grid = self.vqvae.decode(codes).numpy()
        return grid_to_bars(grid, self.tokenizer.pitch_low)

    def encode_bars(self, bars: Bars) -> torch.Tensor:
        """Bars -> ``[N, K]`` codes."""
        grid = bars_to_grid(bars, self.tokenizer.pitch_low, self.tokenizer.pitch_high)
        return self.vqvae.encode(torch.from_numpy(grid))

    # ------------------------------------------------------------------ the call
    def __call__(
        self,
        emotion: Emotion | str = "neutral",
        bars: int = 16,
        generator: torch.Generator | None = None,
        guidance_scale: float = 1.5,
        temperature: float = 0.9,
        top_k: int | None = 32,
        tempo: float | None = None,
        mode: str | None = None,
        density: float | None = None,
        prompt_midi: str | Path | None = None,
        num_steps: int | None = None,
    ) -> MusicOutput:
        """Compose ``bars`` bars of 4/4 melody for ``emotion``.

        Args:
            emotion: an Emotion or anything ``Emotion.parse`` takes, or an EMOPIA quadrant ``Q1``..``Q4``.
            bars: new bars to compose, 1..512.
            generator: the only source of randomness (default: a generator seeded 0).
            guidance_scale: classifier-free guidance (1 = plain conditional; higher = stronger emotion/attributes;
                the default 1.5 keeps pitch/groove statistics closest to the corpus, measured in the bench).
            temperature, top_k: code sampling (defaults 0.9 and 32).
            tempo, mode, density: faders overriding what the emotion implies (BPM; "major"/"minor"; onsets per bar).
            prompt_midi: a MIDI file to continue (its top line is kept, in its key and tempo unless overridden).
            num_steps: accepted for interface symmetry; this model samples exactly ``bars * K`` codes.
        """
        if isinstance(bars, bool) or not isinstance(bars, int | np.integer) or not 1 <= bars <= MAX_BARS:
            raise MusicInputError(f"bars must be a whole number from 1 to {MAX_BARS}, got {bars!r}.")
        if not (guidance_scale >= 0 and np.isfinite(guidance_scale)):
            raise MusicInputError(f"guidance_scale must be >= 0, got {guidance_scale}.")
        if not (temperature > 0 and np.isfinite(temperature)):
            raise MusicInputError(f"temperature must be > 0, got {temperature}.")
        if top_k is not None and top_k < 1:
            raise MusicInputError(f"top_k must be >= 1 (or None), got {top_k}.")
        t0 = time.perf_counter()
        emo = parse_music_emotion(emotion)
        prompt = None
        if prompt_midi is not None:
            prompt = prompt_from_midi(prompt_midi, self.tokenizer)
            if tempo is None:
                tempo = min(max(prompt.tempo_bpm, 40.0), 200.0)
        targets = targets_from_emotion(emo, tempo=tempo, mode=mode, density=density)
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        cond = self.prior.condition(
            emotion_features([emo]),
            torch.tensor([targets.mode_index]),
            torch.tensor([targets.density_class]),
            torch.tensor([register_class_for(targets)]),
        )
        uncond = self.prior.condition(None, torch.tensor([NUM_MODES]), torch.tensor([NUM_DENSITY]), torch.tensor([NUM_REGISTER]))
        prefix = None if prompt is None else self.encode_bars(prompt.bars[-(self.window_bars - 1) :])
        codes = self.sample_codes(bars, cond, uncond, g, prefix, guidance_scale, temperature, top_k)
        new = self.decode_codes(codes[-bars:])
        # 4. mode: the measured mode of the new bars must be the target's
        rewritten = False
        if estimate_key(_notelist(new)).mode != targets.mode:
            new = enforce_mode(new, targets.mode)
            rewritten = True
        # 5. render
        if prompt is not None:
            shift = prompt.shift_back
            all_bars = prompt.bars + new
        else:
            notes = [p for b in new for _, p, _ in b]
            mean = float(np.mean(notes)) if notes else 67.0
            jitter = int(torch.randint(-2, 3, (1,), generator=g))
            shift = round(targets.register - mean) + jitter
            all_bars = new
        all_bars = [[(s, min(127, max(0, p + shift)), d) for s, p, d in b] for b in all_bars]
        final_key = estimate_key(_notelist(all_bars[-bars:]))
        midi = render_midi(all_bars, targets, final_key.tonic, final_key.mode)
        return MusicOutput(
            midi=midi,
            bars=all_bars,
            codes=codes,
            emotion=emo,
            targets=targets,
            key=final_key.name,
            mode_rewritten=rewritten,
            prompt_bars=0 if prompt is None else len(prompt.bars),
            seconds=time.perf_counter() - t0,
            info={"guidance_scale": guidance_scale, "temperature": temperature, "top_k": top_k},
        )


def enforce_mode(bars: Bars, mode: str) -> Bars:
    """Rewrite a melody into ``mode`` (major<->minor on a tonic) so that its measured mode is ``mode``.

    The tonic tried first is the one the key finder names; if the rewrite on it does not
    flip the measured mode (a melody can sit between relative keys), the other tonics are
    tried and the clearest result (largest mode margin) is kept.
    """
    key = estimate_key(_notelist(bars))
    first = rewrite_mode(bars, key.tonic, mode)
    sign = 1.0 if mode == "major" else -1.0
    if sign * estimate_key(_notelist(first)).mode_margin > 0:
        return first
    best, best_margin = first, -1.0
    for tonic in range(12):
        cand = rewrite_mode(bars, tonic, mode)
        m = sign * estimate_key(_notelist(cand)).mode_margin
        if m > best_margin:
            best, best_margin = cand, m
    return best


def _notelist(bars: Bars) -> NoteList:
    rows = [((b * STEPS_PER_BAR + s) / 4, d / 4, p, 80) for b, bar in enumerate(bars) for s, p, d in bar]
    return NoteList.from_tuples(rows or [(0.0, 0.25, 60, 1)])


# ------------------------------------------------------------------ rendering
def render_midi(bars: Bars, targets: AttributeTargets, tonic: int = 0, mode: str = "major"):
    """Bars -> ``pretty_midi.PrettyMIDI`` at the target tempo, velocity (+ metrical accents) and articulation."""
    import pretty_midi

    tempo = targets.tempo_bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    pm.key_signature_changes.append(pretty_midi.KeySignature(tonic + (12 if mode == "minor" else 0), 0.0))
    inst = pretty_midi.Instrument(program=PROGRAM, name="melody")
    step_s = 60.0 / tempo / 4
    for b, bar in enumerate(bars):
        for s, p, d in bar:
            # downbeat / half-bar / beat accents (metrical hierarchy, Lerdahl & Jackendoff 1983)
            accent = 10 if s == 0 else (6 if s == 8 else (3 if s % 4 == 0 else 0))
            vel = int(min(127, max(1, round(targets.velocity + accent - 4))))
            start = (b * STEPS_PER_BAR + s) * step_s
            length = max(step_s * 0.5, d * step_s * targets.articulation)
            inst.notes.append(pretty_midi.Note(velocity=vel, pitch=int(p), start=start, end=start + length))
    pm.instruments.append(inst)
    return pm


# ------------------------------------------------------------------ continuation
@dataclass
class Prompt:
    bars: Bars  # model key space (tonic C)
    shift_back: int  # semitones from model space to the file's key
    tempo_bpm: float


def prompt_from_midi(path: str | Path, tokenizer: BarTokenizer) -> Prompt:
    """A MIDI file's top line as bars on the sixteenth grid, transposed to tonic C (the model's key space)."""
    notes = read_midi(path)  # MidiReadError (an EmotiveError) for missing / corrupt / empty files
    if notes.beats_per_bar != 4.0:
        raise MusicInputError(f"'{path}' is not in 4/4 (or 2/2); the model continues 4-beat bars only.")
    steps = np.round(notes.onset * 4).astype(int)
    lengths = np.maximum(1, np.round(notes.duration * 4).astype(int))
    top: dict[int, tuple[int, int]] = {}
    for s, d, p in zip(steps, lengths, notes.pitch):
        if s not in top or p > top[s][1]:
            top[int(s)] = (int(d), int(p))
    key = estimate_key(notes)
    t = -key.tonic if key.tonic <= 6 else 12 - key.tonic
    pitches = [p + t for _, p in top.values()]
    while np.mean(pitches) < 62:
        t += 12
        pitches = [p + 12 for p in pitches]
    while np.mean(pitches) > 76:
        t -= 12
        pitches = [p - 12 for p in pitches]
    lo, hi = tokenizer.pitch_low, tokenizer.pitch_high
    order = sorted(top)
    n_bars = order[-1] // STEPS_PER_BAR + 1
    if n_bars > MAX_BARS:
        raise MusicInputError(f"'{path}' is longer than {MAX_BARS} bars.")
    bars: Bars = [[] for _ in range(n_bars)]
    for i, s in enumerate(order):
        d, p = top[s]
        p = p + t
        while p < lo:
            p += 12
        while p > hi:
            p -= 12
        nxt = order[i + 1] if i + 1 < len(order) else s + d
        end = (s // STEPS_PER_BAR + 1) * STEPS_PER_BAR
        bars[s // STEPS_PER_BAR].append((s % STEPS_PER_BAR, p, max(1, min(d, nxt - s, end - s))))
    return Prompt(bars, -t, notes.tempo_bpm)
