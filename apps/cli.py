"""The ``emotive`` command line: thin argument parsing over the pipelines.

User errors (:class:`EmotiveError`) print one line on stderr and exit 2;
unexpected errors print one line and exit 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import pkgutil
import sys
import warnings
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn

from emotive.conditioning import EmotiveError


def _version() -> str:
    try:
        return version("emotive")
    except PackageNotFoundError:
        return "0+unknown"


class OneLineErrors(argparse.ArgumentParser):
    """An argument error is one line on stderr and exit 2, like every other error of the CLI (argparse printed its
    usage block first); the sub-commands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message.rstrip('.')} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrors(
        prog="emotive",
        description="Generate emotional speech, talking portraits and music, and check them with recognisers.",
        epilog="Emotion requests: a label (happy, happy:0.6), a mixture (0.7 sad + 0.3 angry), "
        "a VAD triple (vad(0.5,0.3,0.1)) or free text ('quietly hopeful').",
    )
    parser.add_argument("--version", action="version", version=f"emotive {_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from emotive.apps import commands

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):  # helpers and per-modality parts of shared commands
            continue
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # pyworld imports pkg_resources, whose deprecation notice is about pyworld's packaging, not the user's input;
    # it stood before the one error line of `convert` and `evaluate speech`.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except EmotiveError as exc:
        print(f"emotive: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emotive: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk outside the atomic writers (e.g. a temporary folder) is the user's to fix
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or getattr(args, "debug", False):
            return _internal(exc, args)
        print(f"emotive: error: No space left on the disk ({exc.filename or 'a temporary file'}).", file=sys.stderr)
        return 2
    except Exception as exc:  # one line for users; the traceback behind --debug
        return _internal(exc, args)


def _internal(exc: BaseException, args: argparse.Namespace) -> int:
    if getattr(args, "debug", False):
        raise exc
    print(f"emotive: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
