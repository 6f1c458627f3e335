"""``MusicPipeline``: emotion -> form plan -> melody (prior + VQ-VAE) -> chords (HMM) -> arrangement -> MIDI.

>>> pipe = MusicPipeline.from_pretrained()                            # doctest: +SKIP
>>> out = pipe(emotion="sad", bars=16, generator=torch.Generator().manual_seed(0))  # doctest: +SKIP
>>> out.write_midi("song.mid"); out.write_wav("song.wav"); out.write_pianoroll("roll.png")  # doctest: +SKIP

The loop, top to bottom (``__call__``):
1. the emotion (plus user faders ``tempo``/``mode``/``density``) becomes attribute
   targets (``attributes.targets_from_emotion``); texture and instruments follow the
   emotion unless ``texture`` / ``instruments`` are given (``arrangement``);
2. form: the bars are cut into 4-bar phrases (``bars`` is rounded up to whole phrases) and
   given a plan (:func:`form_plan`: AABA or ABAC for 16 bars); a new phrase's codes are
   sampled by the prior (classifier-free guidance, sliding window), a varied repeat (A')
   reuses the first three bars' codes of its model phrase and samples a new fourth bar;
3. the VQ-VAE decoder turns each bar's codes into notes; if the melody's measured mode
   (Krumhansl-Schmuckler) differs from the target it is rewritten major<->minor on its tonic;
   the last bar becomes the tonic, held from the downbeat;
4. harmony: the chorale-trained HMM (``harmony.HarmonyModel``) picks one chord per harmonic
   slot (1 per bar for low arousal, else 2) for the melody, with cadences at phrase ends and
   V -> I at the end;
5. arrangement (``arrangement.arrange``): melody, accompaniment texture, bass and, where the
   ensemble has one, drums, as named General MIDI tracks with phrase dynamics.
All randomness comes from the passed ``torch.Generator``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emotive.conditioning import Emotion, EmotiveError
from emotive.conditioning.encoder import emotion_features, guided
from emotive.conditioning.files import atomic_output, check_output
from emotive.evaluators.music.attributes import NoteList, estimate_key, read_midi
from emotive.evaluators.music.evaluator import parse_music_emotion
from emotive.generators.music.arrangement import (
    Harmony,
    Track,
    arrange,
    check_texture,
    ensemble_for,
    parse_instruments,
    texture_for,
    to_pretty_midi,
)
from emotive.generators.music.attributes import (
    AttributeTargets,
    MusicInputError,
    register_class_for,
    rewrite_mode,
    targets_from_emotion,
)
from emotive.generators.music.harmony import HarmonyModel, chord_name, chord_pcs, chord_root
from emotive.generators.music.prior import NUM_DENSITY, NUM_MODES, NUM_REGISTER, CodePrior, PriorConfig
from emotive.generators.music.tokenizer import STEPS_PER_BAR, BarTokenizer, bars_to_grid, grid_to_bars
from emotive.generators.music.vqvae import BarVQVAE, VQVAEConfig

FORMAT_VERSION = 2
MAX_BARS = 512
PHRASE_BARS = 4
"""Bars per phrase: ``bars`` is rounded up to a multiple of this (at least one phrase)."""
MIDI_SUFFIXES = (".mid", ".midi")
"""File-name endings of the MIDI output."""
DEFAULT_NAME = "emotive-music-v2"
DEFAULT_PATH = Path(__file__).resolve().parent / "pretrained" / DEFAULT_NAME
STRONG_BEAT_WEIGHT = 6.0
"""Harmonising: a melody note sounding on beat 1 or 3 counts this many times (it should be a chord tone)."""
CHANGE_BONUS = 2.0
"""Log-probability bonus per chord change: the chorale transitions alone hold the tonic for most of a folk-like
tune (a harmonic rhythm slower than the slot grid that arousal sets)."""
KEY_RETRY_BIAS = (0.0, 2.0, 5.0)
"""Extra pull toward the mode's own chord quality on each harmonising attempt (see ``__call__`` step 5)."""
TRACK_COLOURS = {"melody": "tab:red", "accompaniment": "tab:blue", "bass": "tab:green", "drums": "0.45"}

Bars = list[list[tuple[int, int, int]]]


@dataclass
class MusicOutput:
    """A composition.

    Attributes:
        midi: the rendered ``pretty_midi.PrettyMIDI`` (one named instrument per track).
        bars: melody bars of ``(step 0..15, pitch, length in sixteenths)`` as rendered (final key).
        codes: ``[bars, K]`` melody bar codes (prompt bars included) in the model's key space.
        emotion: the requested emotion; ``targets``: the attribute targets used.
        key: the rendered key, e.g. ``"D minor"``; ``mode_rewritten``: the melody's mode was rewritten.
        plan: the phrase labels (``["A", "A'", "B", "A'"]``); ``harmony``: chords per slot;
        texture: the accompaniment texture; ``instruments``: the ensemble description;
        tracks: the arrangement (times in sixteenth steps).
        prompt_bars: how many leading bars came from a continued MIDI file.
        seconds: wall time of composing (everything up to the MIDI object; no audio).
    """

    midi: object
    bars: Bars
    codes: torch.Tensor
    emotion: Emotion
    targets: AttributeTargets
    key: str
    mode_rewritten: bool
    plan: list[str] = field(default_factory=list)
    harmony: Harmony | None = None
    texture: str = ""
    instruments: str = ""
    tracks: list[Track] = field(default_factory=list)
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
        """Audio preview ``[samples]`` float32 in [-1, 1]: every track with its General MIDI program (drums on
        channel 10), FluidSynth with pretty_midi's GM soundfont (TimGM6mb)."""
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

    def draw_pianoroll(self, ax: Any) -> None:
        """Draw the piano roll on a matplotlib axis: time in bars, MIDI pitch, colour = track, drums as ticks
        under the lowest pitch, shading = velocity."""
        from matplotlib.patches import Patch, Rectangle

        spb = 240.0 / self.targets.tempo_bpm  # seconds per 4/4 bar
        pitched = [n.pitch for inst in self.midi.instruments if not inst.is_drum for n in inst.notes] or [60]
        lo, hi = min(pitched) - 2, max(pitched) + 2
        handles = []
        for inst in self.midi.instruments:
            colour = TRACK_COLOURS.get(inst.name, "tab:purple")
            for n in inst.notes:
                y, h = (lo - 1.5, 0.8) if inst.is_drum else (n.pitch - 0.4, 0.8)
                w = 0.06 if inst.is_drum else (n.end - n.start) / spb
                ax.add_patch(Rectangle((n.start / spb, y), w, h, color=colour, alpha=0.35 + 0.65 * n.velocity / 127, lw=0))
            handles.append(Patch(color=colour, label=f"{inst.name} ({'drum kit' if inst.is_drum else _gm_name(inst.program)})"))
        if self.prompt_bars:
            ax.axvline(self.prompt_bars, color="black", lw=1, ls="--")
        n_bars = len(self.bars)
        ax.set_xlim(0, n_bars)
        ax.set_ylim(lo - 2.5, hi + 6)  # room above the notes for the legend
        ax.set_xticks(range(0, n_bars + 1, 1 if n_bars <= 32 else 4))
        ax.grid(axis="x", alpha=0.3)
        for k in range(0, n_bars + 1, 4):
            ax.axvline(k, color="0.6", lw=0.8)
        ax.set_xlabel("bar")
        ax.set_ylabel("MIDI pitch")
        plan = " ".join(self.plan)
        ax.set_title(f"{self.emotion.label} · {self.key} · {self.targets.tempo_bpm:.0f} BPM · {self.texture} · {plan}",
                     fontsize=9)
        ax.legend(handles=handles, fontsize=7, loc="upper right", ncol=len(handles))

    def write_pianoroll(self, path: str | Path, overwrite: bool = False) -> Path:
        """A piano-roll PNG coloured by track (see :meth:`draw_pianoroll`)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        check_output(path, overwrite, (".png",))
        fig, ax = plt.subplots(figsize=(max(7, 0.6 * len(self.bars)), 4.2))
        self.draw_pianoroll(ax)
        fig.tight_layout()
        with atomic_output(path, overwrite, (".png",)) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        return Path(path)


def _gm_name(program: int) -> str:
    import pretty_midi

    return pretty_midi.program_to_instrument_name(int(program))


def form_plan(num_phrases: int, generator: torch.Generator) -> list[str]:
    """Phrase labels: a letter is new material, ``X'`` a varied repeat of phrase ``X``.

    1 -> A; 2 -> A A'; 3 -> A B A'; 4 -> AABA (A A' B A') or ABAC (A B A' C), picked by the generator;
    longer pieces continue in groups of four (X X' Y A': new material, then A returns) and end on A'.
    """
    if num_phrases <= 0:
        return []
    if num_phrases == 1:
        return ["A"]
    if num_phrases == 2:
        return ["A", "A'"]
    if num_phrases == 3:
        return ["A", "B", "A'"]
    aaba = int(torch.randint(0, 2, (1,), generator=generator)) == 0
    plan = ["A", "A'", "B", "A'"] if aaba else ["A", "B", "A'", "C"]
    letters = iter([c for c in "BCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in plan] * 40)
    while len(plan) < num_phrases:  # later groups: new material, and A returns at the end of each (a rondo)
        x = next(letters)
        plan += [x, x + "'", next(letters), "A'"][: num_phrases - len(plan)]
    if num_phrases > 4:
        plan[-1] = "A'"
    return plan


class MusicPipeline:
    """VQ-VAE + prior (melody) + HMM (harmony) + tokenizer, with ``from_pretrained`` / ``save_pretrained``."""

    def __init__(
        self,
        vqvae: BarVQVAE,
        prior: CodePrior,
        tokenizer: BarTokenizer | None = None,
        window_bars: int = 16,
        corpus_stats: dict | None = None,
        metrics: dict | None = None,
        harmony: HarmonyModel | None = None,
    ) -> None:
        self.vqvae = vqvae.eval()
        self.prior = prior.eval()
        self.tokenizer = tokenizer or BarTokenizer()
        self.window_bars = window_bars
        self.corpus_stats = corpus_stats or {}
        self.metrics = metrics or {}
        self.harmony = harmony or HarmonyModel.uniform()

    # ------------------------------------------------------------------ persistence
    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> MusicPipeline:
        """Load ``config.json`` + ``model.safetensors`` (default: the embedded ``emotive-music-v2``)."""
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
        harmony = HarmonyModel.from_state_dict({k[8:]: v for k, v in state.items() if k.startswith("harmony.")})
        tok = BarTokenizer(**cfg["tokenizer"])
        return cls(vq, prior, tok, cfg["window_bars"], cfg.get("corpus_stats"), cfg.get("metrics"), harmony)

    def save_pretrained(self, path: str | Path, overwrite: bool = False) -> Path:
        from safetensors.torch import save_file

        p = Path(path)
        if (p / "model.safetensors").exists() and not overwrite:
            raise EmotiveError(f"'{p}' already holds a model; pass overwrite=True to replace it.")
        p.mkdir(parents=True, exist_ok=True)
        state = {f"vqvae.{k}": v.contiguous() for k, v in self.vqvae.state_dict().items()}
        state |= {f"prior.{k}": v.contiguous() for k, v in self.prior.state_dict().items()}
        state |= {f"harmony.{k}": v.contiguous() for k, v in self.harmony.state_dict().items()}
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
        total_bars: int | None = None,
    ) -> torch.Tensor:
        """Sample ``[num_bars, K]`` new codes after an optional ``prefix [P, K]``; returns prefix + new codes.

        A sliding window of ``window_bars`` bars bounds the context; CFG mixes the
        conditional and null-condition logits: ``uncond + s * (cond - uncond)``. ``total_bars``
        (default prefix + new) is the length of the whole piece, for the prior's bars-remaining input.
        """
        k = self.prior.config.codes_per_bar
        bos = self.prior.config.bos_id
        codes = [] if prefix is None else prefix.reshape(-1).tolist()
        total = total_bars if total_bars is not None else (0 if prefix is None else len(prefix)) + num_bars
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
        return torch.tensor(codes, dtype=torch.long).view(-1, k)

    def sample_form(
        self,
        plan: list[str],
        cond: torch.Tensor,
        uncond: torch.Tensor,
        generator: torch.Generator,
        prefix: torch.Tensor | None = None,
        **sampling,
    ) -> torch.Tensor:
        """Codes ``[P + len(plan) * PHRASE_BARS, K]`` for a phrase plan: new phrases sampled, varied repeats
        (``X'``) copy the first ``PHRASE_BARS - 1`` bars of phrase ``X`` and sample a new last bar."""
        codes = prefix if prefix is not None else torch.zeros(0, self.prior.config.codes_per_bar, dtype=torch.long)
        total = len(codes) + len(plan) * PHRASE_BARS
        first: dict[str, torch.Tensor] = {}
        for label in plan:
            base = label.rstrip("'")
            pre = codes if len(codes) else None
            if label.endswith("'") and base in first:
                codes = torch.cat([codes, first[base][: PHRASE_BARS - 1]])
                codes = self.sample_codes(1, cond, uncond, generator, codes, total_bars=total, **sampling)
            else:
                codes = self.sample_codes(PHRASE_BARS, cond, uncond, generator, pre, total_bars=total, **sampling)
                first.setdefault(base, codes[-PHRASE_BARS:])
        return codes

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
        texture: str | None = None,
        instruments: str | None = None,
        prompt_midi: str | Path | None = None,
        num_steps: int | None = None,
    ) -> MusicOutput:
        """Compose ``bars`` bars of 4/4 for ``emotion``: melody, accompaniment, bass (and drums where fitting).

        Args:
            emotion: an Emotion or anything ``Emotion.parse`` takes, or an EMOPIA quadrant ``Q1``..``Q4``.
            bars: new bars to compose, 4..512 (one phrase at least); rounded up to whole 4-bar phrases.
            generator: the only source of randomness (default: a generator seeded 0).
            guidance_scale: classifier-free guidance of the melody prior (default 1.5).
            temperature, top_k: code sampling (defaults 0.9 and 32).
            tempo, mode, density: faders overriding what the emotion implies (BPM; "major"/"minor"; melody onsets per bar).
            texture: accompaniment texture, one of ``arrangement.TEXTURES`` (default: from the emotion).
            instruments: ensemble and/or ``role=instrument`` items (``arrangement.parse_instruments``).
            prompt_midi: a MIDI file to continue (its top line is kept, in its key and tempo unless overridden).
            num_steps: accepted for interface symmetry; this model samples a fixed number of codes.
        """
        if isinstance(bars, bool) or not isinstance(bars, int | np.integer) or not PHRASE_BARS <= bars <= MAX_BARS:
            raise MusicInputError(
                f"bars must be a whole number from {PHRASE_BARS} (one phrase) to {MAX_BARS}, got {bars!r}.")
        if not (guidance_scale >= 0 and np.isfinite(guidance_scale)):
            raise MusicInputError(f"guidance_scale must be >= 0, got {guidance_scale}.")
        if not (temperature > 0 and np.isfinite(temperature)):
            raise MusicInputError(f"temperature must be > 0, got {temperature}.")
        if top_k is not None and top_k < 1:
            raise MusicInputError(f"top_k must be >= 1 (or None), got {top_k}.")
        check_texture(texture)
        t0 = time.perf_counter()
        emo = parse_music_emotion(emotion)
        ensemble, roles = parse_instruments(instruments, ensemble_for(emo.valence, emo.arousal))
        prompt = None
        if prompt_midi is not None:
            prompt = prompt_from_midi(prompt_midi, self.tokenizer)
            if tempo is None:
                tempo = min(max(prompt.tempo_bpm, 40.0), 200.0)
        targets = targets_from_emotion(emo, tempo=tempo, mode=mode, density=density)
        texture = texture or texture_for(emo.valence, emo.arousal)
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        n_phrases = -(-int(bars) // PHRASE_BARS)
        plan = form_plan(n_phrases, g)
        # 2. melody codes by phrase plan
        cond = self.prior.condition(
            emotion_features([emo]),
            torch.tensor([targets.mode_index]),
            torch.tensor([targets.density_class]),
            torch.tensor([register_class_for(targets)]),
        )
        uncond = self.prior.condition(None, torch.tensor([NUM_MODES]), torch.tensor([NUM_DENSITY]), torch.tensor([NUM_REGISTER]))
        prefix = None if prompt is None else self.encode_bars(prompt.bars[-(self.window_bars - 1) :])
        codes = self.sample_form(plan, cond, uncond, g, prefix, guidance_scale=guidance_scale,
                                 temperature=temperature, top_k=top_k)
        n_new = n_phrases * PHRASE_BARS
        new = self.decode_codes(codes[-n_new:])
        # 3. mode, then the closing tonic
        rewritten = False
        context = ([] if prompt is None else prompt.bars) + new
        if estimate_key(_notelist(context)).mode != targets.mode:
            new = enforce_mode(new, targets.mode, prompt.bars if prompt is not None else None)
            rewritten = True
        if prompt is not None:  # continue in the prompt's octave
            old_p = [p for b in prompt.bars for _, p, _ in b]
            new_p = [p for b in new for _, p, _ in b]
            octaves = round((np.mean(new_p) - np.mean(old_p)) / 12) if old_p and new_p else 0
            new = [[(s, p - 12 * octaves, d) for s, p, d in b] for b in new]
        all_bars = ([] if prompt is None else prompt.bars) + new
        key = estimate_key(_notelist(all_bars))
        tonic_model = key.tonic
        all_bars[-1] = [_closing_tonic(all_bars, tonic_model)]
        if prompt is not None:
            shift = prompt.shift_back
        else:
            notes = [p for b in all_bars for _, p, _ in b]
            mean = float(np.mean(notes)) if notes else 67.0
            jitter = int(torch.randint(-2, 3, (1,), generator=g))
            shift = round(targets.register - mean) + jitter
        all_bars = [[(s, min(127, max(0, p + shift)), d) for s, p, d in b] for b in all_bars]
        tonic = (tonic_model + shift) % 12
        # 4. harmony
        prompt_bars = 0 if prompt is None else len(prompt.bars)
        # 5. arrangement; if the whole score no longer reads in the key (the chords can pull a tune toward its
        # relative key), harmonise again with a stronger pull toward the mode's own chord qualities
        for strength in KEY_RETRY_BIAS:
            harmony = self.harmonize(all_bars, tonic, targets.mode, emo, prompt_bars, plan, strength)
            tracks = arrange(all_bars, harmony, texture, roles, targets.velocity, targets.articulation)
            pitched = [(st / 4, en / 4 - st / 4, p, v) for tr in tracks if not tr.is_drum for st, en, p, v in tr.notes]
            full = estimate_key(NoteList.from_tuples(pitched))
            if full.tonic == tonic and full.mode == targets.mode:
                break
        midi = to_pretty_midi(tracks, targets.tempo_bpm, tonic, targets.mode)
        names = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
        info = {"guidance_scale": guidance_scale, "temperature": temperature, "top_k": top_k}
        if n_new != bars:
            info["bars_rounded_up_from"] = int(bars)
        return MusicOutput(
            midi=midi,
            bars=all_bars,
            codes=codes,
            emotion=emo,
            targets=targets,
            key=f"{names[tonic]} {targets.mode}",
            mode_rewritten=rewritten,
            plan=plan,
            harmony=harmony,
            texture=texture,
            instruments=ensemble,
            tracks=tracks,
            prompt_bars=prompt_bars,
            seconds=time.perf_counter() - t0,
            info=info,
        )

    def harmonize(self, bars: Bars, tonic: int, mode: str, emotion: Emotion, prompt_bars: int, plan: list[str],
                  mode_pull: float = 0.0) -> Harmony:
        """Chords for melody ``bars`` (rendered key, tonic pitch class ``tonic``): harmonic rhythm from arousal
        (1 chord per bar below arousal -0.25, else 2), phrase ends every ``PHRASE_BARS`` bars after the prompt.
        ``mode_pull`` (log-probability units) moves the valence bias further toward the mode's chord quality."""
        per_bar = 1 if emotion.arousal < -0.25 else 2
        slot = STEPS_PER_BAR // per_bar
        n_slots = len(bars) * per_bar
        melody = np.zeros((n_slots, 12))
        for b, bar in enumerate(bars):
            for s, p, d in bar:
                a, e = b * STEPS_PER_BAR + s, b * STEPS_PER_BAR + s + d
                for k in range(a // slot, min(n_slots, -(-e // slot))):
                    overlap = (min(e, (k + 1) * slot) - max(a, k * slot)) / 4.0  # beats
                    strong = any(st % 8 == 0 for st in range(max(a, k * slot), min(e, (k + 1) * slot)))
                    melody[k, (p - tonic) % 12] += overlap * (STRONG_BEAT_WEIGHT if strong else 1.0)
        ends = np.zeros(n_slots, dtype=bool)
        for b in range(len(bars)):
            if b + 1 == prompt_bars or (b + 1 > prompt_bars and (b + 1 - prompt_bars) % PHRASE_BARS == 0):
                ends[(b + 1) * per_bar - 1] = True
        valence = emotion.valence + (mode_pull if mode == "major" else -mode_pull)
        states = self.harmony.harmonize(melody, mode, ends, valence=valence, final_tonic_slots=per_bar,
                                        change_bonus=CHANGE_BONUS)
        chords = [(int((chord_root(c) + tonic) % 12), tuple((pc + tonic) % 12 for pc in chord_pcs(c))) for c in states]
        contrast = [not lab.startswith("A") for lab in plan]
        if prompt_bars:
            contrast = [False] * (-(-prompt_bars // PHRASE_BARS)) + contrast
        return Harmony(tonic, mode, per_bar, chords, [chord_name(c) for c in states], PHRASE_BARS, contrast)


def _closing_tonic(bars: Bars, tonic: int) -> tuple[int, int, int]:
    """The last bar: the tonic held from the downbeat, in the octave nearest the melody's previous note."""
    prev = next((bar[-1][1] for bar in reversed(bars[:-1]) if bar), 67)
    cands = [p for p in range(prev - 12, prev + 13) if p % 12 == tonic]
    return (0, min(cands, key=lambda p: (abs(p - prev), -p)), STEPS_PER_BAR)


def enforce_mode(bars: Bars, mode: str, context: Bars | None = None) -> Bars:
    """Rewrite a melody into ``mode`` (major<->minor on a tonic) so that its measured mode is ``mode``.

    The tonic tried first is the one the key finder names; if the rewrite on it does not
    flip the measured mode (a melody can sit between relative keys), the other tonics are
    tried and the clearest result (largest mode margin) is kept. ``context`` (a continued
    prompt's bars) is measured with the melody but never rewritten.
    """
    ctx = context or []
    key = estimate_key(_notelist(ctx + bars))
    first = rewrite_mode(bars, key.tonic, mode)
    sign = 1.0 if mode == "major" else -1.0
    if sign * estimate_key(_notelist(ctx + first)).mode_margin > 0:
        return first
    best, best_margin = first, -1.0
    for tonic in range(12):
        cand = rewrite_mode(bars, tonic, mode)
        m = sign * estimate_key(_notelist(ctx + cand)).mode_margin
        if m > best_margin:
            best, best_margin = cand, m
    return best


def _notelist(bars: Bars) -> NoteList:
    rows = [((b * STEPS_PER_BAR + s) / 4, d / 4, p, 80) for b, bar in enumerate(bars) for s, p, d in bar]
    return NoteList.from_tuples(rows or [(0.0, 0.25, 60, 1)])


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
