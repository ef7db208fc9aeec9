"""Shared command-line helpers: logging set-up and one-line fatal errors."""

from __future__ import annotations

import logging
import sys

EXIT_BAD_INPUT = 2


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr with timestamps; INFO by default, DEBUG with ``verbose``."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print a one-line error to stderr and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code
