"""CLI subcommands, one module each. A module defines ``register(subparsers)``,
which adds its parser and sets ``func=handler(args) -> int``. The CLI discovers
them, so a new subcommand needs no edit elsewhere.
"""
