"""``emotive train <modality> ...``: train a model from scratch with the project's recipe (reproduces the shipped weights)."""

from __future__ import annotations

import argparse

from emotive.apps.commands._dispatch import add_modal_command


def register(sub: argparse._SubParsersAction) -> None:
    add_modal_command(sub, "train", "train a model from scratch with the project's recipe (reproduces the shipped weights)")
