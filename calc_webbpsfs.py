#!/usr/bin/env python
"""Step 2: model PSFs PSFs/miri_<F>_psf.fits (OVERSAMP, DET_SAMP, OVERDIST, DET_DIST).

stpsf is used when its data package is installed ($STPSF_PATH); otherwise the
project's physical PSF model makes the same file (keyword PSFMODEL says which,
and the log says so).  Spec 3.5 settings: oversample 4; imager/FND parity
even, field 200 x 0.11" x FWHM; coronagraphic filters parity odd, 300 pixels,
their image and pupil masks, the star 74, -72 pixels off the mask, and
normalize='exit_pupil'.  The field needed by the EE step is 2 x 2 x fwhmfac x
FWHM (4 x 25 = 100 FWHM for a --scan up to 25); a smaller --fov-fwhm saves
time and memory (the 200 FWHM F2550W PSF is 5848^2 x 4 extensions, ~1 GB).
For a simulated campaign, --like-simulation writes the PSF the simulator
injected (same settings: the project's model depends on its field of view at
the percent level through the cruciform), so the closed loop is exact.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter (default F770W)")
    g.add_argument("--all", action="store_true", help="all 14 filters")
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root; output in <root>/PSFs (default .)")
    p.add_argument(
        "--model",
        default="auto",
        choices=("auto", "stpsf", "absflux"),
        help="auto: stpsf if its data are installed, else the project's model (default auto)",
    )
    p.add_argument("--fov-fwhm", type=float, default=200.0, help="imager/FND field of view in FWHM (default 200)")
    p.add_argument("--fov-pixels", type=int, help='explicit field of view in 0.11" pixels (overrides --fov-fwhm)')
    p.add_argument("--oversample", type=int, default=4, help="oversampling (default 4)")
    p.add_argument("--nlambda", type=int, help="wavelengths (default: stpsf's per filter, 10 for the project model)")
    p.add_argument("--stpsf-path", type=Path, help="stpsf data directory (default $STPSF_PATH)")
    p.add_argument(
        "--like-simulation",
        action="store_true",
        help="simulated campaign: the exact PSF it injected (its settings from truth.ecsv; closed-loop checks)",
    )
    p.add_argument("--onlynew", action="store_true", help="skip filters whose PSF file exists")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("calc_webbpsfs")
    from absflux.io_utils import WRITE_ERRNOS
    from absflux.psfs import PSFError, calc_webbpsf, psf_path

    if args.oversample < 1 or args.fov_fwhm <= 0 or (args.fov_pixels is not None and args.fov_pixels < 2):
        return fail("--oversample must be >= 1, --fov-fwhm > 0 and --fov-pixels >= 2")
    if not args.root.is_dir():
        return fail(f"{args.root}: campaign root not found")
    if args.stpsf_path is not None and not (args.stpsf_path / "version.txt").is_file():
        return fail(f"{args.stpsf_path}: not an stpsf data directory (no version.txt)")
    filters = C.ALL_FILTERS if args.all else (args.filter,)
    for f in filters:
        out = psf_path(args.root, f)
        if args.onlynew and out.is_file():
            log.info("%s: %s exists, skipped", f, out)
            continue
        t0 = time.time()
        try:
            calc_webbpsf(
                args.root,
                f,
                model=args.model,
                fov_fwhm=args.fov_fwhm,
                fov_pixels=args.fov_pixels,
                oversample=args.oversample,
                nlambda=args.nlambda,
                stpsf_path=args.stpsf_path,
                like_simulation=args.like_simulation,
            )
        except PSFError as exc:
            return fail(f"{f}: {exc}")
        except OSError as exc:
            if exc.errno in WRITE_ERRNOS:
                raise  # cli.run: "cannot write <PSF file>: <reason>", exit 2
            return fail(f"{f}: {exc}")
        log.info("%s: wrote %s in %.1f s", f, out, time.time() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
