"""``emotive evaluate <modality> ...``: check that an output (WAV, MP4, MIDI) carries the requested emotion."""

from __future__ import annotations

import argparse

from emotive.apps.commands._dispatch import add_modal_command


def register(sub: argparse._SubParsersAction) -> None:
    add_modal_command(sub, "evaluate", "check that an output (WAV, MP4, MIDI) carries the requested emotion")
