"""The project's own English sentences: hand-written ones plus template sentences.

``build_sentences()`` combines ``data/handwritten.txt`` with sentences generated
from this module's own templates and vocabulary (deterministic for a seed),
deduplicates, tags each sentence (kind, congruent emotion, numbers) and gives it
a fixed train/val/test split derived from a hash of its text, so the split never
changes when sentences are added. ``data/sentences.jsonl`` is the committed
result; ``python -m emotive.generators.speech.sentences`` rebuilds it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import random
import re
from collections import Counter
from pathlib import Path

SPLIT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}

# --------------------------------------------------------------- vocabulary
NAMES = (
    "Anna", "Ben", "Carlos", "Deepa", "Ethan", "Fatima", "George", "Hiro", "Isla", "Jamal", "Kate", "Liam",
    "Maya", "Noah", "Olga", "Pedro", "Quinn", "Ruth", "Sofia", "Tariq", "Uma", "Vera", "Will", "Yusuf", "Zoe",
    "Joy", "Roy", "Lloyd", "Hugo", "Julia", "Gus", "Bridget", "Thea", "Vaughn",
)
PLACES = (
    "the station", "the market", "the harbour", "the library", "the old mill", "the bakery", "the garage",
    "the school hall", "the river bank", "the village green", "the museum", "the hospital", "the beach",
    "the hotel lobby", "the bus depot", "the pharmacy", "the theatre", "the playground", "the bookshop",
    "the post office", "the garden centre", "the treasury", "the boathouse", "the cathedral",
)
OBJECTS = (
    "the keys", "the letter", "the umbrella", "the blue notebook", "the red bicycle", "the tickets",
    "the painting", "the camera", "the recipe book", "the old radio", "the wooden chair", "the leather bag",
    "the measuring tape", "the toy boat", "the silver watch", "the garden hose", "the jigsaw puzzle",
    "the laptop charger", "the woollen scarf", "the cookbook", "the television remote", "the birthday card",
)
TIMES = (
    "this morning", "last night", "on Monday", "after lunch", "before dawn", "at the weekend", "yesterday",
    "on Tuesday evening", "during the storm", "in the spring", "every summer", "tonight", "next Friday",
    "around midnight", "at half past four", "in the autumn",
)
VERBS_PAST = (
    "found", "moved", "lost", "fixed", "borrowed", "returned", "painted", "cleaned", "measured", "dropped",
    "hid", "wrapped", "sold", "bought", "checked", "carried", "forgot", "noticed", "ordered", "packed",
)
ANIMALS = ("the dog", "the cat", "a fox", "the horse", "a crow", "the goat", "a hedgehog", "the pony", "an owl")

# emotion-congruent fragments (our own wording)
CONGRUENT = {
    "happy": (
        "We got the house, we actually got it",
        "{name} is coming home for the holidays",
        "The results came back and everything is fine",
        "I just heard the best news of the year",
        "{name} won first prize at the fair",
        "Our team made it to the final",
        "The sun is out and the whole day is ours",
        "{name} said yes to the job in {place}",
    ),
    "sad": (
        "{name} moved away and never wrote back",
        "The garden is empty now that the roses are gone",
        "I kept {object} because it was all I had left",
        "Nobody came to the party {time}",
        "The old house was sold {time}",
        "I miss the way {name} used to laugh",
        "We said goodbye at {place} and I cried all the way home",
        "{animal} we loved so much died {time}",
    ),
    "angry": (
        "Someone took {object} without asking again",
        "{name} lied to my face about {object}",
        "I have asked you three times to stop that",
        "They closed {place} without telling anyone",
        "You promised to fix {object} and you did nothing",
        "Who left this mess all over {place}",
        "{name} blamed me for something I never did",
        "I am sick of waiting for {name} to call back",
    ),
    "fearful": (
        "There is someone standing outside {place}",
        "I heard a noise downstairs {time}",
        "{name} has not come back from {place}",
        "The lights went out and the door is unlocked",
        "Something is scratching at the window",
        "I think we are lost and the battery is almost dead",
        "The water is rising faster than they said",
        "{animal} is growling at something in the dark",
    ),
    "disgusted": (
        "There is mould growing on {object}",
        "Someone spat on the floor at {place}",
        "The fridge smells of rotten eggs",
        "I found a hair baked into the bread",
        "{name} chewed with their mouth wide open",
        "The drain at {place} is full of slime",
        "That sandwich has been sitting in the sun all day",
        "The carpet at {place} was sticky and damp",
    ),
    "surprised": (
        "{name} is here, I thought you were abroad",
        "The whole class turned up at {place}",
        "You found {object} after all these years",
        "It snowed in the middle of June",
        "{name} can play the violin",
        "The shop gave us {object} for free",
        "{animal} just walked into the kitchen",
        "The bill was only two dollars",
    ),
    "calm": (
        "The lake is still and the boats are resting",
        "Take your time, there is no hurry at all",
        "We sat at {place} and watched the clouds",
        "The rain is soft on the roof {time}",
        "Let the tea cool a little before you drink it",
        "{name} is reading quietly by the window",
        "The evening is warm and the street is quiet",
        "Breathe slowly and listen to the waves",
    ),
}

NEUTRAL_STATEMENTS = (
    "{name} {verb} {object} at {place} {time}",
    "The meeting about {object} is at {place} {time}",
    "{name} usually walks to {place} {time}",
    "We {verb} {object} and put it near the door",
    "{name} and {name2} met at {place} {time}",
    "The report on {place} has {n} pages",
    "There are {n} chairs in {place}",
    "{name} will collect {object} from {place}",
    "Our train leaves at {clock} from platform {small}",
    "The delivery is expected on {month} {day}",
    "{name} was born on {month} {day}, {year}",
    "The ticket for {place} costs ${price}",
    "{name} lives at {small} {street} Road",
    "The shop sold {n} umbrellas {time}",
    "Room {room} is next to {place}",
    "{name} ran {small} km before breakfast",
    "We need {small} more boxes for {object}",
    "The bridge near {place} was built in {year}",
)
QUESTIONS = (
    "Did {name} {verb_base} {object} {time}?",
    "Where did you leave {object}?",
    "Is {place} open {time}?",
    "How many people were at {place}?",
    "Why did {name} go to {place} {time}?",
    "Can you bring {object} to {place}?",
    "Has anyone seen {object}?",
    "What time does {place} close on {weekday}?",
    "Would {name} like to come along {time}?",
    "Is it true that {name} {verb} {object}?",
    "Who told {name} about {place}?",
    "Are there really {n} steps up to {place}?",
    "Did the bus to {place} leave at {clock}?",
)
EXCLAMATIONS = (
    "Look out, {animal} is loose!",
    "What a mess {place} is in!",
    "{name}, you found {object}!",
    "Hurry, the doors close at {clock}!",
    "Stop, that is {object}!",
    "Wow, {n} people came to {place}!",
    "Careful with {object}!",
)
VERB_BASE = {
    "found": "find", "moved": "move", "lost": "lose", "fixed": "fix", "borrowed": "borrow", "returned": "return",
    "painted": "paint", "cleaned": "clean", "measured": "measure", "dropped": "drop", "hid": "hide",
    "wrapped": "wrap", "sold": "sell", "bought": "buy", "checked": "check", "carried": "carry", "forgot": "forget",
    "noticed": "notice", "ordered": "order", "packed": "pack",
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STREETS = ("Elm", "Harbour", "Mill", "Station", "Orchard", "Quarry", "Church", "Meadow")
ENDINGS = {"happy": "!", "surprised": "!", "angry": "!", "fearful": ".", "sad": ".", "disgusted": ".", "calm": "."}


def _fill(tpl: str, rng: random.Random) -> str:
    name, name2 = rng.sample(NAMES, 2)
    verb = rng.choice(VERBS_PAST)
    vals = {
        "name": name, "name2": name2, "verb": verb, "verb_base": VERB_BASE[verb],
        "object": rng.choice(OBJECTS), "place": rng.choice(PLACES), "time": rng.choice(TIMES),
        "animal": rng.choice(ANIMALS), "n": str(rng.choice([3, 7, 12, 15, 24, 38, 56, 99, 140, 365, 1200, 2500])),
        "small": str(rng.randint(2, 19)), "clock": f"{rng.randint(1, 12)}:{rng.choice(['00', '15', '30', '45', '05', '20'])}",
        "month": rng.choice(MONTHS), "day": f"{rng.randint(1, 28)}{'th'}", "year": str(rng.randint(1950, 2024)),
        "price": f"{rng.randint(2, 90)}.{rng.choice(['00', '50', '25', '99'])}", "street": rng.choice(STREETS),
        "room": str(rng.randint(100, 450)), "weekday": rng.choice(WEEKDAYS),
    }
    s = tpl.format(**vals)
    s = re.sub(r"\b(\d+)th\b", lambda m: m.group(1) + _suffix(int(m.group(1))), s)
    return s[0].upper() + s[1:]


def _suffix(d: int) -> str:
    if 10 <= d % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def kind_of(s: str) -> str:
    return "question" if s.endswith("?") else "exclamation" if s.endswith("!") else "statement"


def split_of(text: str) -> str:
    """Fixed split from a hash of the text (80/10/10)."""
    h = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < 0.8 else "val" if h < 0.9 else "test"


def handwritten() -> list[str]:
    text = importlib.resources.files("emotive.generators.speech").joinpath("data/handwritten.txt").read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _congruent_of(s: str) -> str:
    low = s.lower()
    cues = {
        "angry": ("furious", "lied", "blame", "sick of", "shouting", "never forgive", "cruel", "without paying", "three times", "hundred times", "did not even say sorry", "stop that"),
        "sad": ("goodbye", "miss", "empty", "gone", "died", "never wrote", "cried", "nobody came", "alone"),
        "fearful": ("frightened", "footsteps", "following", "scratching", "noise downstairs", "shaking", "sirens", "dark", "uneasy", "lost and"),
        "disgusted": ("mould", "rotten", "slime", "disgusting", "sour", "sticky", "spat", "hair", "fuzz", "smell"),
        "happy": ("best", "won", "proud", "lovely", "wonderful", "married", "yes to", "laughed", "passed the exam", "prize"),
        "surprised": ("really", "after all", "twin", "snowed in", "thought you were", "can play", "for free", "wait,"),
        "calm": ("slowly", "quiet", "still", "soft", "gently", "no hurry", "breathe", "calm"),
    }
    for label, words in cues.items():
        if any(w in low for w in words):
            return label
    return "neutral"


def build_sentences(seed: int = 7, n_template: int = 1500) -> list[dict]:
    """All sentences as dicts ``{"id", "text", "kind", "congruent", "has_number", "split", "source"}``."""
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()

    def add(text: str, source: str, congruent: str | None = None) -> None:
        key = text.lower()
        n_words = len(text.split())
        if key in seen or not 2 <= n_words <= 30:
            return
        seen.add(key)
        rows.append(
            {"text": text, "kind": kind_of(text), "congruent": congruent or _congruent_of(text),
             "has_number": bool(re.search(r"\d", text)), "split": split_of(text), "source": source}
        )

    for s in handwritten():
        add(s, "handwritten")
    pools = [("neutral", NEUTRAL_STATEMENTS, None), ("neutral", QUESTIONS, None), ("neutral", EXCLAMATIONS, None)]
    pools += [(lab, frags, ENDINGS[lab]) for lab, frags in CONGRUENT.items()]
    weights = [5, 3, 1] + [1.2] * len(CONGRUENT)
    tries = 0
    target = len(rows) + n_template
    while len(rows) < target and tries < n_template * 50:
        tries += 1
        lab, pool, end = rng.choices(pools, weights)[0]
        s = _fill(rng.choice(pool), rng)
        if end is not None:
            if lab in ("surprised", "happy") and rng.random() < 0.3:
                s = s + "?" if lab == "surprised" else s + "."
            else:
                s = s + end
        elif s[-1] not in ".?!":
            s += "."
        add(s, "template", lab if end is not None else "neutral")
    for i, r in enumerate(rows):
        r["id"] = f"s{i:05d}"
    return [{"id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in rows]


def load_sentences(path: str | Path | None = None) -> list[dict]:
    """The committed sentence table (``data/sentences.jsonl``) or a file of the same shape."""
    if path is None:
        text = importlib.resources.files("emotive.generators.speech").joinpath("data/sentences.jsonl").read_text()
    else:
        text = Path(path).read_text()
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def coverage_report(rows: list[dict]) -> dict:
    """Phoneme counts per split; ``missing_in_train`` must be empty."""
    from emotive.generators.speech.frontend import ARPABET, phonemize

    counts = {s: Counter() for s in SPLIT_FRACTIONS}
    for r in rows:
        counts[r["split"]].update(phonemize(r["text"]))
    return {
        "sentences": {s: sum(1 for r in rows if r["split"] == s) for s in SPLIT_FRACTIONS},
        "kinds": dict(Counter(r["kind"] for r in rows)),
        "congruent": dict(Counter(r["congruent"] for r in rows)),
        "with_numbers": sum(r["has_number"] for r in rows),
        "phoneme_counts_train": {p: counts["train"][p] for p in ARPABET},
        "missing_in_train": [p for p in ARPABET if counts["train"][p] == 0],
        "missing_in_test": [p for p in ARPABET if counts["test"][p] == 0],
    }


def main() -> None:  # pragma: no cover - maintenance entry point
    rows = build_sentences()
    here = Path(__file__).parent / "data"
    (here / "sentences.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    rep = coverage_report(rows)
    (here / "coverage.json").write_text(json.dumps(rep, indent=1) + "\n")
    print(json.dumps({k: v for k, v in rep.items() if k != "phoneme_counts_train"}, indent=1))


if __name__ == "__main__":
    main()
