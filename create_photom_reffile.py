#!/usr/bin/env python
"""Step 10: the MIRI imager PHOTOM reference file (Photom/) and the coefficient summary (CalFacs/).

Examples
--------
    python create_photom_reffile.py --basedir demo_run
    python create_photom_reffile.py --basedir demo_run --version sim_0002 --author "A. N. Other"
    python create_photom_reffile.py --basedir tiny_run --filters F770W F2100W --date 1jan26
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging

EPILOG = """\
Inputs per filter (below --basedir): CalFacs/miri_calfactors[_bkgsub]_repeat_<F>_fit.dat (plot_repeatability.py,
generate_coron_repeat_from_imager.py) and CalFacs/miri_calfactors[_bkgsub]_grieke_subarracor_timecor_<F>_ave.dat
(plot_multi_calfacs.py --grieke --subarrcor, or calc_calfactors.py --grieke --subarrcor --applytime;
_bkgsub for the coronagraphic filters).
Outputs: Photom/jwst_miri_photom_flight_<date|version>.fits (MirImgPhotomModel: PHOTOM with photmjsr =
C/subarr_cor and its uncertainty per filter and subarray, TIMECOEFF_EXPONENTIAL with amplitude, tau > 0, t0,
const, TIMECOEFF_LINEAR with t0, lossperyear > 0 for a loss; metadata of the MIRI PHOTOM files and
provenance in HISTORY; validated with stdatamodels before it is published) and
CalFacs/jwst_miri_photom_coeff.dat (IPAC: filter photomjsr expamplitude exptau expconts lossperyear
startday uncertainty). The paper's Table 6 rows (LaTeX) are printed on stdout.
A missing input for a named filter, a time fit with too few points, or a non-finite coefficient gives a
one-line error, exit code 2, and no file written.
"""


def main(argv=None) -> int:
    from absflux.photom_reffile import DEFAULT_AUTHOR, PHOTOM_FILTERS, default_tag

    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--basedir", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument(
        "--filters", nargs="+", choices=C.ALL_FILTERS, metavar="F", help="filters to include (default all 14)"
    )
    name = p.add_mutually_exclusive_group()
    name.add_argument(
        "--date",
        help=f"date tag of the output name jwst_miri_photom_flight_<DATE>.fits (default today, e.g. {default_tag()})",
    )
    name.add_argument("--version", help="version tag used instead of the date in the output name")
    p.add_argument("--author", default=DEFAULT_AUTHOR, help="AUTHOR keyword (default %(default)s)")
    p.add_argument(
        "--pedigree",
        help="PEDIGREE keyword (default 'INFLIGHT <first> <last>' from the repeat-star data span)",
    )
    p.add_argument(
        "--no-grieke",
        action="store_true",
        help="read the averages made without the G. Rieke models (..._subarracor_timecor_<F>_ave.dat)",
    )
    p.add_argument(
        "--table-style",
        choices=("current", "paper"),
        default="current",
        help="columns of the LaTeX rows: current (F & C & loss & amp & tau & const & C_unc & C_unc%% & npts & "
        "repeat%%) or paper (F & C & amp & amp%% & tau & C_unc & C_unc%% & npts & repeat%%)",
    )
    p.add_argument(
        "--table-only",
        action="store_true",
        help="print the Table 6 rows from the same inputs and write nothing (make_paper_products.py); "
        "default filters: those of the newest Photom/jwst_miri_photom_*.fits",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    from absflux import photom_reffile as PR

    if args.table_only:
        filters = args.filters
        if not filters:  # the filters of the newest delivered file
            files = sorted((args.basedir / "Photom").glob("jwst_miri_photom_*.fits"), key=lambda q: q.stat().st_mtime)
            if files:
                try:
                    tabs = PR.read_photom_tables(files[-1])
                except PR.PhotomError as exc:
                    return fail(str(exc))
                filters = sorted({str(f) for f in tabs["PHOTOM"]["filter"]})
        try:
            cals = [PR.read_filter_inputs(args.basedir, f, not args.no_grieke) for f in PR.selected_filters(filters)]
        except PR.PhotomError as exc:
            return fail(str(exc))
        print("\n".join(PR.latex_rows(cals, args.table_style)))
        return 0
    try:
        path, _, latex = PR.run_create_photom(
            args.basedir,
            filters=args.filters or list(PHOTOM_FILTERS),
            date=args.date,
            version=args.version,
            author=args.author,
            pedigree=args.pedigree,
            grieke=not args.no_grieke,
            table_style=args.table_style,
            options=vars(args),
        )
    except PR.PhotomError as exc:
        return fail(str(exc))
    print("\n".join(latex))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
