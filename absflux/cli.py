"""Shared command-line helpers: logging set-up, one-line fatal errors, the script runner."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys

EXIT_BAD_INPUT = 2
#: Exit code after SIGTERM (128 + 15, as a shell reports it).
EXIT_TERMINATED = 143


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr with timestamps; INFO by default, DEBUG with ``verbose``."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print a one-line error to stderr and return the exit code."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def add_original_switch(parser, step: str, implied: dict) -> None:
    """``--original``: select every original choice of a step; the help lists the options it implies.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    step : str
        For the help text ("step 3").
    implied : dict
        {option dest: the original's value}; ``True`` stands for a flag.
    """
    opts = " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in implied.items())
    parser.add_argument(
        "--original",
        action="store_true",
        help=f"the original scripts' {step}: {opts} (an option given explicitly still wins)",
    )


def resolve_choices(args, defaults: dict, original: dict) -> dict:
    """The method choices of parsed arguments: the defaults, or the original's with ``--original``;
    every option given explicitly (not None) wins.

    Returns
    -------
    dict
        {option dest: value} for every key of ``defaults``.
    """
    out = dict(original) if getattr(args, "original", False) else dict(defaults)
    for k in out:
        if getattr(args, k, None) is not None:
            out[k] = getattr(args, k)
    return out


def oserror_message(exc: OSError) -> str:
    """``<file>: <reason>`` for an OSError (the file named when the error knows it)."""
    where = exc.filename if exc.filename is not None else "output"
    reason = exc.strerror or type(exc).__name__
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    return f"{where}: {reason}"


def _terminate(signum, frame):  # noqa: ARG001
    # SystemExit unwinds the stack, so every ``finally`` and atomic-write helper removes its temporaries
    raise SystemExit(EXIT_TERMINATED)


def run(main, argv=None) -> int:
    """Run a script's ``main``: SIGTERM unwinds cleanly, unwritable outputs are one-line errors.

    An OSError that means the output cannot be written (disk full, read-only
    folder, no permission; :data:`absflux.io_utils.WRITE_ERRNOS`) becomes
    ``error: <file>: <reason>`` and exit code 2 instead of a traceback; the
    atomic-write helpers have removed their temporaries by then.

    Parameters
    ----------
    main : callable
        The script's ``main(argv) -> int``.
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code.
    """
    from .io_utils import write_error

    signal.signal(signal.SIGTERM, _terminate)
    try:
        return main(argv)
    except BrokenPipeError:
        # the reader went away (``script | head``): no traceback, as a C tool killed by SIGPIPE
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        err = write_error(exc)
        if err is None:
            raise
        return fail(f"cannot write {oserror_message(err)}")
