"""One seed rule for every command and the demo.

A seed is a whole number from 0 to :data:`MAX_SEED` (2**32 - 1): every random generator used
here takes it as is (``torch.Generator.manual_seed``, ``numpy.random.default_rng``), and the
same seed with the same inputs gives the same output. There is no "random seed" value: a
different take is a different number. Anything else -- negative, fractional, too large, not a
number -- is refused with one line (exit 2 on the command line, a message in the demo).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from emotive.conditioning import EmotiveError

MAX_SEED = 2**32 - 1
SEED_RULE = f"a whole number from 0 to {MAX_SEED}"


class SeedError(EmotiveError, ValueError):
    """A seed outside the rule."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_seed(value: Any, what: str = "The seed") -> int:
    """``value`` (int, whole float, or their text) as an int seed; raises :class:`SeedError` outside the rule."""
    bad = SeedError(f"{what} must be {SEED_RULE}, got {_shown(value)}.")
    if isinstance(value, bool) or value is None:
        raise bad
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise bad from None
    if not isinstance(value, int):
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError):
            raise bad from None
        if not math.isfinite(x) or x != int(x):
            raise bad
        value = int(x)
    if not 0 <= value <= MAX_SEED:
        raise bad
    return int(value)


def seed_arg(text: str) -> int:
    """``argparse`` type of every ``--seed`` option."""
    try:
        return check_seed(text, "the seed")
    except SeedError as exc:
        raise argparse.ArgumentTypeError(str(exc)[0].lower() + str(exc)[1:]) from None


def add_seed_argument(parser: argparse.ArgumentParser, help_text: str = "random seed") -> None:
    """The ``--seed`` option with the shared rule."""
    parser.add_argument("--seed", type=seed_arg, default=0, metavar="N",
                        help=f"{help_text} ({SEED_RULE}; same seed and inputs give the same output)")
