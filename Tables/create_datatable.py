#!/usr/bin/env python
"""Machine-readable data table of all measurements (spec 3.37).

Reads ``<root>/<type>/<F>_eefrac0.7_phot.fits`` for the three star types and 13 filters (no FND,
as in the paper) and a photom reference file (``--photom``, current or old format) giving C(t)
per (filter, subarray); flux [mJy] = 1e9 x rate x apcorr x pixel area x C(t).  Writes
``miri_absflux_program_data.dat`` (IPAC) and ``.tex`` (AASTeX), and the CDS/MRT version
``miri_absflux_program_data_mrt.txt`` with astropy's MRT writer; the cdspyreadme ``table1``/
``ReadMe`` pair of the original is written only when the package ``cdspyreadme`` is installed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absflux import constants as C  # noqa: E402
from absflux.cli import fail, run, setup_logging  # noqa: E402
from absflux.io_utils import provenance, write_table  # noqa: E402
from absflux.tables import TableError, build_datatable, datatable_latex_formats  # noqa: E402

log = logging.getLogger("create_datatable")
BASENAME = "miri_absflux_program_data"
TITLE = "MIRI Imaging and Coronagraphic Absolute Flux Calibration Measurements"


def default_photom(root: Path) -> Path | None:
    """Newest ``Photom/jwst_miri_photom*.fits`` of the campaign root, if any."""
    cands = sorted((root / "Photom").glob("jwst_miri_photom*.fits"), key=lambda p: p.stat().st_mtime)
    return cands[-1] if cands else None


def write_cds(table, outdir: Path) -> list[Path]:
    """``table1`` + ``ReadMe`` with cdspyreadme when installed; else an empty list and a note."""
    try:
        import cdspyreadme
    except ImportError:
        log.warning("cdspyreadme is not installed: CDS table1/ReadMe skipped (the MRT file is written instead)")
        return []
    tm = cdspyreadme.CDSTablesMaker()
    tm.title = TITLE
    tm.author = "absflux"
    t = tm.addTable(table, name="table1")
    t.description = TITLE
    cwd = os.getcwd()
    try:
        os.chdir(outdir)
        tm.writeCDSTables()
        with open("ReadMe", "w") as fh:
            tm.makeReadMe(out=fh)
    finally:
        os.chdir(cwd)
    return [outdir / "table1", outdir / "ReadMe"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root (default: .)")
    p.add_argument("--photom", default=None, help="photom reference file (default: newest <root>/Photom/*.fits)")
    p.add_argument("--outdir", default=None, help="output folder (default: <root>/Tables)")
    p.add_argument("--types", nargs="+", default=list(C.STAR_TYPES), help="star-type directories")
    p.add_argument("--with-fnd", action="store_true", help="also include FND (the paper table has none)")
    p.add_argument(
        "--pixarea",
        choices=("photom", "table"),
        default="photom",
        help="pixel area of the flux conversion: photom metadata (original) or the phot table's pixarea column",
    )
    p.add_argument("--eefrac", type=float, default=C.EE_FRACTION_PHOT, help="EE fraction of the phot tables")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    root = Path(args.root)
    photom = Path(args.photom) if args.photom else default_photom(root)
    if photom is None:
        return fail(f"no --photom given and no {root}/Photom/jwst_miri_photom*.fits")
    filters = C.IMAGER_FILTERS + C.CORON_FILTERS + (("FND",) if args.with_fnd else ())
    try:
        tab, used, missing = build_datatable(root, photom, args.types, filters, args.eefrac, args.pixarea)
    except TableError as exc:
        return fail(str(exc))
    for m in missing:
        log.warning("missing: %s", m)
    if len(tab) == 0:
        return fail(f"{root}: no photometry tables found for {', '.join(args.types)}")
    outdir = Path(args.outdir) if args.outdir else root / "Tables"
    outdir.mkdir(parents=True, exist_ok=True)
    prov = provenance("Tables/create_datatable.py", inputs=[photom, *used], options=args)
    written = [write_table(tab, outdir / f"{BASENAME}.dat", "ascii.ipac", prov)]
    written.append(
        write_table(
            tab,
            outdir / f"{BASENAME}.tex",
            "ascii.aastex",
            None,
            formats=datatable_latex_formats(tab),
            latexdict={"caption": TITLE},
        )
    )
    mrt = tab.copy()
    for n in mrt.colnames:  # astropy's MRT writer cannot format float32 columns
        if mrt[n].dtype.kind == "f":
            unit, desc = mrt[n].unit, mrt[n].description
            vals = mrt[n].astype("f8")
            mrt[n] = vals.round(5) if n == "time" else [float(f"{v:.4g}") for v in vals]
            mrt[n].unit, mrt[n].description = unit, desc
        if mrt[n].unit is not None and "DN" in str(mrt[n].unit):  # DN is no CDS unit: counts (ct)
            mrt[n].unit = str(mrt[n].unit).replace("DN", "ct")
    written.append(write_table(mrt, outdir / f"{BASENAME}_mrt.txt", "ascii.mrt", None))
    written += write_cds(tab, outdir)
    for w in written:
        log.info("wrote %s", w)
    log.info("%d rows from %d photometry tables", len(tab), len(used))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
