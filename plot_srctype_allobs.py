#!/usr/bin/env python
"""Source-type dependence of the calibration factors (paper Fig. 8): C / C(srctype) per imager filter.

Examples
--------
    python plot_srctype_allobs.py --basedir demo_run --photom demo_run/Photom/jwst_miri_photom_flight_8oct25.fits
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux.cli import fail, run, setup_logging

EPILOG = """\
Inputs: the photom reference file (--photom; FULL row photmjsr and uncertainty per filter; default the newest
Photom/jwst_miri_photom_*.fits below --basedir) and, per imager filter,
CalFacs/miri_calfactors_grieke_subarracor_timecor_<F>_srctype.dat (plot_multi_calfacs.py --grieke --subarrcor
--xaxisval srctype). rel = photmjsr / C(type), unc = rel sqrt((unc_mean/C(type))^2 + (unc/photmjsr)^2), used
where the type average has an uncertainty. Per type: weighted mean over filters (1/unc^2), weighted std
(ddof 1, more than 3 filters) and std/sqrt(N), printed on stdout and written to CalFacs/srctype_allobs.dat;
figure Figs/srctype_allobs.png|pdf (averages drawn with 5 sigma error bars). Bad inputs give a one-line
error, exit code 2, and nothing written.
"""


def main(argv=None) -> int:
    from absflux.calfactors import DEFAULT_JITTER_SEED

    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--basedir", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument("--photom", type=Path, help="photom reference file (default: newest Photom/jwst_miri_photom_*.fits)")
    fig = p.add_mutually_exclusive_group()
    fig.add_argument("--png", action="store_true", help="figure as PNG (default)")
    fig.add_argument("--pdf", action="store_true", help="figure as PDF")
    p.add_argument("--show", action="store_true", help="also display the figure (interactive backend)")
    p.add_argument("--jitter-seed", type=int, default=DEFAULT_JITTER_SEED, help="seed of the x jitter")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if not args.show:
        import matplotlib

        matplotlib.use("Agg")
    from absflux import subarrays as SA

    if not args.basedir.is_dir():
        return fail(f"{args.basedir}: base directory does not exist")
    photom = args.photom
    if photom is None:
        cands = sorted((args.basedir / "Photom").glob("jwst_miri_photom_*.fits"), key=lambda q: q.stat().st_mtime)
        if not cands:
            return fail(
                f"no photom file in {args.basedir / 'Photom'} (give --photom FILE or run create_photom_reffile.py)"
            )
        photom = cands[-1]
    try:
        stats, _ = SA.run_srctype(
            args.basedir, photom, "pdf" if args.pdf else "png", args.show, args.jitter_seed, options=vars(args)
        )
    except SA.SubarrayError as exc:
        return fail(str(exc))
    print(f"{'type':14s} {'C/C(type)':>10s} {'std':>8s} {'std_mean':>9s} {'nfilt':>5s}")
    for r in stats:
        print(f"{r['type']:14s} {r['mean']:10.4f} {r['std']:8.4f} {r['std_mean']:9.4f} {r['nfilters']:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
