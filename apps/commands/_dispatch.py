"""Shared commands with one sub-parser per modality (``emotive train music``).

``add_modal_command(sub, "train", help)`` creates the parser and lets every
module ``apps/commands/_train_<modality>.py`` add its own sub-parser through
``register(subsub)``. Modalities appear as their modules land.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil


def add_modal_command(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text)
    subsub = p.add_subparsers(dest=f"{name}_modality", metavar="MODALITY")
    from emotive.apps import commands

    prefix = f"_{name}_"
    found = 0
    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if mod.name.startswith(prefix):
            importlib.import_module(f"{commands.__name__}.{mod.name}").register(subsub)
            found += 1

    def no_modality(args: argparse.Namespace) -> int:
        p.print_help()
        return 0 if found else 2

    p.set_defaults(func=no_modality)
