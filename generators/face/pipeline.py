"""Motion diffusion pipeline: speech audio + emotion -> FaceMotion (diffusers habits).

>>> pipe = MotionDiffusionPipeline.from_pretrained()              # doctest: +SKIP
>>> out = pipe(audio, sr, emotion="sad", generator=torch.Generator().manual_seed(0))
>>> out.motion.blendshapes.shape                                  # [T, 52] at 25 fps

Long audio is covered by windows of the training length with ``overlap`` frames of overlap,
all denoised together in one batch, and joined with linear cross-fades. Classifier-free
guidance: ``guidance_scale`` (1 = plain conditional, > 1 stronger emotion) contrasts the
EmotionEncoder embedding with its learned null embedding.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emotive.conditioning import Emotion
from emotive.conditioning.encoder import emotion_features, guided
from emotive.conditioning.errors import EmotiveError
from emotive.generators.face.audio_features import audio_features
from emotive.generators.face.model import FORMAT_VERSION, MotionDenoiser
from emotive.generators.face.motion import FPS, FaceMotion, lids_follow_gaze

PRETRAINED = Path(__file__).with_name("pretrained") / "motion"


@dataclass
class MotionPipelineOutput:
    """motion: the sampled FaceMotion (25 fps); seconds: sampling wall time; windows: how many windows."""

    motion: FaceMotion
    seconds: float
    windows: int


def _scheduler(kind: str, num_train_timesteps: int):
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    common = {
        "num_train_timesteps": num_train_timesteps,
        "beta_schedule": "squaredcos_cap_v2",
        "prediction_type": "sample",
    }
    if kind == "ddim":
        return DDIMScheduler(**common, clip_sample=False)
    if kind == "dpm":
        return DPMSolverMultistepScheduler(**common)
    raise EmotiveError(f"unknown scheduler {kind!r}; use 'ddim' or 'dpm'")


def save_denoiser(model: MotionDenoiser, folder: str | Path) -> None:
    """``config.json`` (diffusers config, with ``format_version``) + ``model.safetensors``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_config(folder)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))


def load_denoiser(folder: str | Path) -> MotionDenoiser:
    """Inverse of :func:`save_denoiser`; also reads diffusers' own checkpoint layout."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / "model.safetensors").exists():
        return MotionDenoiser.from_pretrained(folder)
    model = MotionDenoiser.from_config(MotionDenoiser.load_config(folder))
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval()


class MotionDiffusionPipeline:
    """Audio + emotion -> face motion with the trained :class:`MotionDenoiser`."""

    def __init__(self, model: MotionDenoiser, window: int = 64, num_train_timesteps: int = 1000):
        self.model = model.eval()
        self.window = window
        self.num_train_timesteps = num_train_timesteps

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> MotionDiffusionPipeline:
        p = Path(path) if path is not None else PRETRAINED
        if not (p / "config.json").exists():
            raise EmotiveError(
                f"No trained motion model at '{p}'. Train one with `emotive train face` "
                "(or use the procedural motion: `emotive animate --motion procedural`)."
            )
        cfg = json.loads((p / "config.json").read_text())
        if cfg.get("format_version", 0) > FORMAT_VERSION:
            raise EmotiveError(f"'{p}' was written by a newer emotive (format {cfg['format_version']}).")
        model = load_denoiser(p)
        extra = json.loads((p / "pipeline.json").read_text()) if (p / "pipeline.json").exists() else {}
        return cls(
            model, window=extra.get("window", 64), num_train_timesteps=extra.get("num_train_timesteps", 1000)
        )

    def save_pretrained(self, path: str | Path) -> None:
        """Write ``config.json`` + ``model.safetensors`` + ``pipeline.json`` into ``path``."""
        p = Path(path)
        save_denoiser(self.model, p)
        (p / "pipeline.json").write_text(
            json.dumps({"window": self.window, "num_train_timesteps": self.num_train_timesteps})
        )

    def to(self, device: str | torch.device) -> MotionDiffusionPipeline:
        self.model.to(device)
        return self

    def _windows(self, n: int, overlap: int) -> list[int]:
        w = self.window
        if n <= w:
            return [0]
        hop = w - overlap
        starts = list(range(0, n - w + 1, hop))
        if starts[-1] + w < n:
            starts.append(n - w)
        return starts

    @torch.no_grad()
    def __call__(
        self,
        audio: np.ndarray,
        sr: int,
        emotion: Emotion | str = "neutral",
        generator: torch.Generator | None = None,
        num_steps: int = 6,
        guidance_scale: float = 2.0,
        overlap: int = 16,
        scheduler: str = "dpm",
    ) -> MotionPipelineOutput:
        """Sample a motion for ``audio`` (mono, any rate) and ``emotion``.

        Args:
            generator: the only source of randomness (a different seed = a different take).
            num_steps: denoising steps. guidance_scale: CFG scale (emotion strength).
            overlap: frames shared by neighbouring windows (cross-faded).
        """
        t0 = time.perf_counter()
        emo = Emotion.parse(emotion) if isinstance(emotion, str) else emotion
        if not (isinstance(num_steps, int) and 1 <= num_steps <= self.num_train_timesteps):
            raise EmotiveError(f"num_steps must be an integer from 1 to {self.num_train_timesteps}, got {num_steps!r}.")
        if not (isinstance(guidance_scale, int | float) and np.isfinite(guidance_scale) and guidance_scale >= 0):
            raise EmotiveError(f"guidance_scale must be a finite number >= 0, got {guidance_scale!r}.")
        feats = audio_features(audio, sr)
        n = len(feats)
        w = self.window
        if n < w:
            feats = np.concatenate([feats, np.repeat(feats[-1:], w - n, axis=0)])
        starts = self._windows(len(feats), overlap)
        device = next(self.model.parameters()).device
        f = torch.from_numpy(np.stack([feats[s : s + w] for s in starts])).to(device)
        b = len(starts)
        e = emotion_features([emo]).to(device).expand(b, -1)
        sched = _scheduler(scheduler, self.num_train_timesteps)
        sched.set_timesteps(num_steps)
        x = torch.randn((b, w, self.model.config.motion_dim), generator=generator).to(device)
        use_cfg = guidance_scale != 1.0
        drop = torch.cat([torch.zeros(b, dtype=torch.bool), torch.ones(b, dtype=torch.bool)]).to(device)
        for t in sched.timesteps:
            tt = torch.full((b,), int(t), dtype=torch.long, device=device)
            if use_cfg:
                both = self.model(
                    torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([f, f]), torch.cat([e, e]), drop
                )
                x0 = guided(both[:b], both[b:], guidance_scale)
            else:
                x0 = self.model(x, tt, f, e)
            x = sched.step(x0, t, x, generator=generator).prev_sample
        motion = self.model.denormalise(x).cpu().numpy()
        # Join windows with linear cross-fades over the overlaps.
        total = len(feats)
        acc = np.zeros((total, motion.shape[-1]))
        wsum = np.zeros(total)
        ramp = np.ones(w)
        if b > 1 and overlap > 0:
            r = np.linspace(0, 1, overlap + 2)[1:-1]
            ramp[:overlap] = r
            ramp[-overlap:] = r[::-1]
        for k, s in enumerate(starts):
            wk = ramp.copy()
            if k == 0:
                wk[:overlap] = 1
            if k == b - 1:
                wk[-overlap:] = 1
            acc[s : s + w] += motion[k] * wk[:, None]
            wsum[s : s + w] += wk
        joined = (acc / wsum[:, None])[:n]
        fm = FaceMotion.from_array(joined, FPS)
        fm.blendshapes = lids_follow_gaze(fm.blendshapes)
        fm.meta = {
            "source": "diffusion",
            "emotion": str(emo),
            "num_steps": num_steps,
            "guidance_scale": guidance_scale,
        }
        return MotionPipelineOutput(fm, time.perf_counter() - t0, b)
