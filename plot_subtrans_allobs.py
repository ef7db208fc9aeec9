#!/usr/bin/env python
"""Step 8: subarray dependence summary (paper Fig. 6, Table 5); --derive estimates the factors from the data.

Examples
--------
    python plot_subtrans_allobs.py --basedir demo_run
    python plot_subtrans_allobs.py --basedir demo_run --derive
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux.cli import fail, run, setup_logging

EPILOG = """\
Inputs (below --basedir): CalFacs/subarray_transfer_F770W.dat and _F1280W.dat (plot_subtrans.py) and, per
imager filter, CalFacs/miri_calfactors_grieke_timecor_<F>_subarr.dat (plot_multi_calfacs.py --grieke
--xaxisval subarr --noignore); missing ones are skipped. Plots the flux density relative to SUB256 of the
adopted factors (configuration: constants.SUBARR_ADOPTED_REL_SUB256 / SUBARR_COR), of the dedicated
transfer visits and of all observations (C(SUB256)/C(subarray)) in Figs/subtrans_allobs.png|pdf, and prints
the paper's Table 5 lines (adopted / adopted[FULL], 'SUB & value \\\\') on stdout.
--derive: combines the measurements (weighted mean, uncertainties scaled by the scatter) into factors
rate(subarray)/rate(FULL), prints them next to the adopted ones and writes
CalFacs/subarray_factors_derived.dat. The adopted factors are not changed (they stay configuration).
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--basedir", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument("--derive", action="store_true", help="estimate the factors from the data, with uncertainties")
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
        lines, derived, _ = SA.run_subtrans_allobs(
            args.basedir, args.derive, "pdf" if args.pdf else "png", args.show, options=vars(args)
        )
    except SA.SubarrayError as exc:
        return fail(str(exc))
    print("\n".join(lines))
    if derived is not None:
        print("\n".join(SA.derived_lines(derived)))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
