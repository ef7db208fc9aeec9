#!/usr/bin/env python
"""Step 8: ratios of the dedicated subarray-transfer visit (CalFacs/subarray_transfer_<F>.dat, Figs/subtrans_<F>).

Examples
--------
    python plot_subtrans.py --basedir demo_run --filter F770W
    python plot_subtrans.py --basedir demo_run --filter F1280W --pdf
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging

EPILOG = "\n".join(
    [
        "Selection (ADwarfs photometry, Models/model_phot.fits, no time or subarray correction):",
        *(f"  {f}: {s} within {h:g} d of MJD {m}" for f, (s, m, h) in C.SUBTRANS_SELECTION.items()),
        "y = mean(C)/C per observation, averaged per subarray and divided by the FULL average (SUB256 when FULL",
        "was not observed). Writes CalFacs/subarray_transfer_<F>.dat (name, FracChange, FracChange_unc, npts)",
        "and Figs/subtrans_<F>.png|pdf; prints the paper's Table 5 lines 'SUB & value \\\\' on stdout.",
        "Bad inputs give a one-line error, exit code 2, and nothing written.",
    ]
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--basedir", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument(
        "--filter", default="F770W", choices=tuple(C.SUBTRANS_SELECTION), help="filter of the transfer visit (F770W)"
    )
    p.add_argument("--eefrac", type=float, default=C.EE_FRACTION_PHOT, help="EE fraction of the photometry (0.7)")
    fig = p.add_mutually_exclusive_group()
    fig.add_argument("--png", action="store_true", help="figure as PNG (default)")
    fig.add_argument("--pdf", action="store_true", help="figure as PDF")
    p.add_argument("--show", action="store_true", help="also display the figure (interactive backend)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if not args.show:
        import matplotlib

        matplotlib.use("Agg")
    from absflux import subarrays as SA

    if not args.basedir.is_dir():
        return fail(f"{args.basedir}: base directory does not exist")
    try:
        _, lines, _ = SA.run_subtrans(
            args.basedir, args.filter, args.eefrac, "pdf" if args.pdf else "png", args.show, options=vars(args)
        )
    except SA.SubarrayError as exc:
        return fail(str(exc))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
