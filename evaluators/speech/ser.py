"""Speech emotion recogniser: 8 labels + VAD from utterance statistics with a small MLP.

Input: ``features.utterance_features`` [D] of the utterance, standardised, plus
the same features relative to the speaker's neutral reference (``reference``:
a few neutral recordings of the same voice — normalisation against neutral
speech of the speaker as in Busso, Mariooryad, Metallinou & Narayanan 2013,
"Iterative feature normalization scheme for automatic emotion detection from
speech", IEEE Trans. Affective Computing 4(4)) and a flag saying whether a
reference was given. Training drops the reference part at random so
the model also works on a single file without one (less accurately: pitch and
level then have to be judged against the training voices).

Output heads: 8 logits (``LABELS`` order) and VAD in [-1, 1] (tanh). A second label head, gradient-
boosted trees on the reference-relative statistics (:mod:`emotive.evaluators.speech.trees`), is
used for the label probabilities whenever a speaker reference is given (``label_head``: "trees"
alone, the default, "mix" = mean with the MLP's, or "mlp"); the MLP gives VAD always and the labels
when there is no reference.
Weights: ``pretrained/ser/{config.json, model.safetensors, MODEL_CARD.md}``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emotive.conditioning import LABELS, Emotion, EmotiveError
from emotive.evaluators.base import Verdict, label_match
from emotive.evaluators.speech.features import DIM, FEATURE_NAMES, utterance_features
from emotive.evaluators.speech.trees import TreeEnsemble, fit_trees

FORMAT_VERSION = 2  # 2: + tree label head (trees.* tensors)
PRETRAINED = Path(__file__).parent / "pretrained" / "ser"


@dataclass
class SERConfig:
    """Model shape and training settings (saved as config.json)."""

    version: int = FORMAT_VERSION
    feature_dim: int = DIM  # utterance_features() length
    feature_names: list[str] = field(default_factory=lambda: list(FEATURE_NAMES))
    hidden: int = 96  # two hidden layers per member; ~23k params each: the data are ~1-10k utterances
    dropout: float = 0.3
    members: int = 4  # independently initialised MLPs trained together; logits averaged (variance reduction)
    epochs: int = 400  # full-batch Adam steps
    lr: float = 3e-3
    weight_decay: float = 1e-3
    vad_weight: float = 1.0  # loss = CE + vad_weight * MSE(VAD)
    ref_keep: float = 0.7  # probability that a training row sees its speaker reference
    abs_with_ref: float = 0.0  # weight of the absolute features when a reference is given (0: relative only;
    # LOSO on the small corpus: 0.80 with 0.0 vs 0.68 with 1.0 at ~1k rows — absolute levels do not transfer across voices)
    ref_mode: str = "neutral"  # speaker reference = mean of the voice's "neutral" rows, or of all its rows ("pool")
    # label probabilities with a reference: "mlp", "trees" (boosted trees on features - reference) or "mix" (mean)
    label_head: str = "trees"  # corpus v2 LOVO, 626 rows: trees 73.2 %, mix 71.6 %, MLP 66.9 % (model card)
    tree_iters: int = 400  # boosting rounds (one tree per class each)
    tree_lr: float = 0.05
    tree_leaves: int = 15
    tree_l2: float = 1.0
    tree_max_features: float = 0.5  # share of features each split may look at (decorrelates the trees)
    seed: int = 0


class _Member(nn.Module):
    def __init__(self, d_in: int, hidden: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout),
        )
        self.cls = nn.Linear(hidden, len(LABELS))
        self.vad = nn.Linear(hidden, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.cls(h), self.vad(h)


class SERModel(nn.Module):
    """[B, 2D+1] -> (logits [B, 8], vad [B, 3]); an average over ``cfg.members`` small MLPs."""

    def __init__(self, cfg: SERConfig):
        super().__init__()
        d = cfg.feature_dim
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("std", torch.ones(d))
        self.members = nn.ModuleList(_Member(2 * d + 1, cfg.hidden, cfg.dropout) for _ in range(cfg.members))
        self.abs_with_ref = cfg.abs_with_ref
        self.label_head = cfg.label_head
        self.trees: TreeEnsemble | None = None  # label head on (features - reference) [B, D] -> [B, 8]

    def inputs(self, feats: torch.Tensor, ref_mean: torch.Tensor | None, keep: torch.Tensor | None = None) -> torch.Tensor:
        """feats [B, D], ref_mean [B, D] (speaker means) or None; keep [B] in {0,1}."""
        z = (feats - self.mean) / self.std
        if ref_mean is None:
            rel = torch.zeros_like(z)
            flag = torch.zeros(len(z), 1)
        else:
            rel = (feats - ref_mean) / self.std
            flag = torch.ones(len(z), 1) if keep is None else keep[:, None].float()
            rel = rel * flag
            z = z * (1 - flag * (1 - self.abs_with_ref))
        return torch.cat([z, rel, flag], dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [m(x) for m in self.members]
        logits = torch.stack([o[0] for o in outs]).mean(0)
        vad = torch.stack([o[1] for o in outs]).mean(0)
        return logits, torch.tanh(vad)

    def member_outputs(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-member (logits, vad) for training: each member gets its own loss."""
        return [(lg, torch.tanh(v)) for lg, v in (m(x) for m in self.members)]


def train_ser(
    feats: np.ndarray,
    labels: np.ndarray,
    vads: np.ndarray,
    speakers: list[str],
    cfg: SERConfig | None = None,
    log=None,
) -> SERModel:
    """Train on [N, D] features, [N] label indices (-1: VAD target only), [N, 3] VAD targets;
    speaker means from ``speakers``."""
    cfg = cfg or SERConfig()
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    x = torch.tensor(feats, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.long)
    v = torch.tensor(vads, dtype=torch.float32)
    ref = torch.tensor(speaker_means(feats, speakers, labels if cfg.ref_mode == "neutral" else None), dtype=torch.float32)
    model = SERModel(cfg)
    model.mean.copy_(x.mean(0))
    model.std.copy_(x.std(0).clamp_min(1e-3))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
    counts = torch.bincount(y[y >= 0], minlength=len(LABELS)).float().clamp_min(1)
    ce = nn.CrossEntropyLoss(weight=(counts.sum() / counts / len(LABELS)), ignore_index=-1)
    model.train()
    for ep in range(cfg.epochs):
        keep = (torch.rand(len(x), generator=g) < cfg.ref_keep).float()
        inp = model.inputs(x, ref, keep)
        loss = sum(ce(lg, y) + cfg.vad_weight * ((vd - v) ** 2).mean() for lg, vd in model.member_outputs(inp))
        logits = None
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log and (ep % 100 == 0 or ep == cfg.epochs - 1):
            with torch.no_grad():
                logits, _ = model(inp)
            has = y >= 0
            log(f"epoch {ep} loss {loss.item():.4f} acc {(logits.argmax(1) == y)[has].float().mean().item():.3f}")
    model.eval()
    if cfg.label_head != "mlp":
        has = labels >= 0
        rel = (x - ref).numpy().astype(np.float64)  # same arithmetic as predict()
        model.trees = fit_trees(rel[has], labels[has], len(LABELS), iters=cfg.tree_iters, lr=cfg.tree_lr,
                                leaves=cfg.tree_leaves, l2=cfg.tree_l2, max_features=cfg.tree_max_features, seed=cfg.seed)
        if log:
            log(f"trees: {len(model.trees.tree_class)} trees")
    return model


def speaker_means(feats: np.ndarray, speakers: list[str], labels: np.ndarray | None = None) -> np.ndarray:
    """[N, D] -> [N, D]: each row's speaker mean feature vector (over the speaker's neutral rows when
    ``labels`` is given and the speaker has any, else over all its rows)."""
    out = np.zeros_like(feats)
    sp = np.asarray(speakers)
    for s in set(speakers):
        m = sp == s
        if labels is not None and np.any(m & (labels == 0)):
            out[m] = feats[m & (labels == 0)].mean(0)
        else:
            out[m] = feats[m].mean(0)
    return out


@torch.no_grad()
def predict(model: SERModel, feats: np.ndarray, ref_mean: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """[N, D] (+ [D] or [N, D] reference means) -> probs [N, 8], vad [N, 3]."""
    x = torch.tensor(np.atleast_2d(feats), dtype=torch.float32)
    ref = None
    if ref_mean is not None:
        r = torch.tensor(np.asarray(ref_mean), dtype=torch.float32)
        ref = r.expand_as(x) if r.ndim == 1 else r
    logits, vad = model(model.inputs(x, ref))
    probs = torch.softmax(logits, -1).numpy()
    if ref is not None and model.trees is not None and model.label_head != "mlp":
        pt = model.trees.predict_proba((x - ref).numpy().astype(np.float64))
        probs = pt if model.label_head == "trees" else 0.5 * (probs + pt)
    return probs.astype(np.float32), vad.numpy()


def ccc(a: np.ndarray, b: np.ndarray) -> float:
    """Lin's concordance correlation coefficient."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ma, mb = a.mean(), b.mean()
    cov = ((a - ma) * (b - mb)).mean()
    return float(2 * cov / (a.var() + b.var() + (ma - mb) ** 2 + 1e-12))


def save(model: SERModel, cfg: SERConfig, path: str | Path, card: str | None = None) -> None:
    from safetensors.torch import save_file

    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    (p / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    if model.trees is not None:
        tensors.update(model.trees.to_tensors())
    save_file(tensors, str(p / "model.safetensors"))
    if card is not None:
        (p / "MODEL_CARD.md").write_text(card)


def load(path: str | Path | None = None) -> SERModel:
    from safetensors.torch import load_file

    p = Path(path) if path is not None else PRETRAINED
    if not (p / "model.safetensors").exists():
        raise EmotiveError(f"No speech emotion recogniser at '{p}'. Train one with `emotive train speech-ser`.")
    raw = json.loads((p / "config.json").read_text())
    if raw.get("version") == 1:  # before the tree head: the MLP gives the labels
        raw = {**raw, "version": FORMAT_VERSION, "label_head": "mlp"}
    if raw.get("version") != FORMAT_VERSION:
        raise EmotiveError(f"'{p}' has SER format version {raw.get('version')}; this code reads 1-{FORMAT_VERSION}.")
    cfg = SERConfig(**raw)
    if cfg.feature_names != list(FEATURE_NAMES):
        raise EmotiveError(f"'{p}' was trained on different features; retrain with `emotive train speech-ser`.")
    model = SERModel(cfg)
    tensors = load_file(str(p / "model.safetensors"))
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("trees.")})
    model.trees = TreeEnsemble.from_tensors(tensors)
    if cfg.label_head != "mlp" and model.trees is None:
        raise EmotiveError(f"'{p}' lacks the tree label head its config names; retrain with `emotive train speech-ser`.")
    model.eval()
    return model


class SpeechEmotionRecognizer:
    """``SpeechEmotionRecognizer.from_pretrained().evaluate("a.wav", "happy", text="...")`` -> Verdict."""

    modality = "speech"

    def __init__(self, model: SERModel):
        self.model = model

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> SpeechEmotionRecognizer:
        return cls(load(path))

    def features(self, audio: np.ndarray | str | Path, sr: int | None = None) -> np.ndarray:
        from emotive.evaluators.speech.audio import load_speech, validate

        sa = load_speech(audio) if isinstance(audio, str | Path) else validate(audio, int(sr or 0))
        return utterance_features(sa.audio, sa.sr)

    def reference_mean(self, references: list) -> np.ndarray:
        """Mean features of neutral recordings of the same voice (paths or (audio, sr) pairs)."""
        fs = [self.features(r) if isinstance(r, str | Path) else self.features(r[0], r[1]) for r in references]
        return np.mean(fs, axis=0)

    def evaluate(
        self,
        output: np.ndarray | str | Path,
        target: Emotion | str | None = None,
        sr: int | None = None,
        text: str | None = None,
        reference: list | np.ndarray | None = None,
    ) -> Verdict:
        """Probabilities, VAD, match; WER/CER when ``text`` is given.

        Args:
            output: a file path or a waveform [T] (then ``sr`` is needed).
            reference: neutral recordings of the same voice (paths / (audio, sr)) or their mean features [D].
        """
        feats = self.features(output, sr)
        ref = None
        if reference is not None:
            ref = np.asarray(reference) if isinstance(reference, np.ndarray) else self.reference_mean(list(reference))
        probs, vad = predict(self.model, feats, ref)
        tgt = Emotion.parse(target) if target is not None else None
        figures: dict = {"speaker_reference": ref is not None}
        if text and text.strip():
            from emotive.evaluators.speech.asr import intelligibility
            from emotive.evaluators.speech.audio import load_speech, validate

            sa = load_speech(output) if isinstance(output, str | Path) else validate(output, int(sr or 0))
            it = intelligibility(sa.audio, sa.sr, text)
            figures.update({"wer": it.wer, "cer": it.cer, "transcript": it.hypothesis})
        p = tuple(float(x) for x in probs[0])
        return Verdict("speech", p, tuple(float(x) for x in vad[0]), tgt, label_match(p, tgt), figures)
