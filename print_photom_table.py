#!/usr/bin/env python
"""Print the rows of one filter in MIRI photom reference files, or compare two files (spec 3.23).

Examples
--------
    python print_photom_table.py --filter F770W demo_run/Photom/jwst_miri_photom_flight_8oct25.fits
    python print_photom_table.py --compare OLD.fits NEW.fits
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging

EPILOG = """\
For each FILE: the PHOTOM rows of --filter and the matching rows of the time tables (TIMECOEFF of the old
format, TIMECOEFF_EXPONENTIAL / TIMECOEFF_LINEAR of the current one), and "p amp" = 100 amplitude /
photmjsr (old format) or 100 amplitude (current format, already relative). With --compare OLD NEW:
photmjsr(OLD) / photmjsr(NEW), filter, subarray and the new value for every row of OLD (Utils/comp_photom;
restricted to --filter when given). Output on stdout.
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="photom reference files (current or old format)")
    p.add_argument("--filter", choices=C.ALL_FILTERS, help="filter (default F770W; all with --compare)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="ratio of photmjsr OLD / NEW")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    from absflux import photom_reffile as PR

    if not args.files and not args.compare:
        return fail("give at least one photom FILE or --compare OLD NEW")
    try:
        lines = []
        for f in args.files:
            lines += PR.print_filter_lines(f, args.filter or "F770W")
        if args.compare:
            lines += PR.compare_lines(*args.compare, filters=[args.filter] if args.filter else None)
    except PR.PhotomError as exc:
        return fail(str(exc))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
