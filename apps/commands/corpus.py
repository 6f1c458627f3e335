"""``emotive corpus <modality> ...``: build a training corpus."""

from __future__ import annotations

import argparse

from emotive.apps.commands._dispatch import add_modal_command


def register(sub: argparse._SubParsersAction) -> None:
    add_modal_command(sub, "corpus", "build a training corpus")
