"""Step 4: the APCORR reference file from the vetted per-set aperture corrections (spec 3.11, 2.1).

Vetted sets
-----------
The data sets whose EE curves make the APCORR file are data, not code: the
default is ``constants.VETTED_EE_SETS`` (the original's manual lists), and a
campaign root may replace it with ``<root>/vetted_sets.yaml`` (or any file
given with ``--vetted``).  Format::

    # vetted_sets.yaml: data sets of the APCORR file (steps 3-4)
    version: 1                      # optional
    description: free text          # optional
    filters:                        # replaces the default table entirely
      F770W:
        fwhmfac: 25                 # merge radius in FWHM (default constants.FWHMFAC)
        sets:                       # "<star type>/<TARGNAME>_setN", averaged
          - ADwarfs/BD+60 1753_set1
          - ADwarfs/HD 55677_set1
        rejected:                   # measured by calc_all_ees.py but not averaged (optional)
          - ADwarfs/BD+60 1753_set9
        reason: free text           # optional
      F560W:
        model_only: true            # no usable data: apcor from PSFs/miri_F560W_psf.fits alone
        fwhmfac: 25

Filters missing from ``filters`` are left out of the APCORR file (logged).
:func:`vetted_sets_yaml` writes the active table in this format.

Reference file
--------------
``ApCor/jwst_miri_apcorr_flight_<tag>.fits`` (``MirImgApcorrModel``) and
``..._<tag>_full.fits`` (with uncertainties), where ``<tag>`` is a date
(``02sep25`` style, default today) or a version string; the name of the
file written last is recorded in ``ApCor/latest_apcorr.txt``, which step 5
reads by default.  Fixes: the subarray column uses the schema width (the
original's S9 dtype truncated SLITLESSPRISM), ``meta.filename`` is the real
file name, and PEDIGREE spans the observation dates of the vetted sets.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import constants as C

log = logging.getLogger(__name__)

VETTED_FILE = "vetted_sets.yaml"
APCOR_DIR = "ApCor"
POINTER = "latest_apcorr.txt"
#: EE fractions written into the reference file (the 0.85 radius is SKYOUT).
REFFILE_FRACTIONS = C.EE_FRACTIONS[:-1]
P_EXPTYPE = "MIR_IMAGE|MIR_4QPM|MIR_LYOT|MIR_TACQ|MIR_TACONFIRM|"
DEFAULT_AUTHOR = "Karl Gordon"
DEFAULT_PEDIGREE = "INFLIGHT 2022-05-25 2024-06-02"
DEFAULT_USEAFTER = "2022-04-01T00:00:00"
HISTORY = (
    "The aperture corrections were computed starting from encircled-energy",
    "profiles measured with flight LVL-3 data and normalized to infinity",
    "using WebbPSF.",
    "",
    "The inner and outer radii for the sky-background annulus are given by",
    "the SKYIN and SKYOUT columns.",
)
#: Widths of the string columns in the mirimg_apcorr schema (filter, subarray).
FILTER_WIDTH, SUBARRAY_WIDTH = 12, 17


class ApcorError(ValueError):
    """Bad input for the APCORR step (one-line message)."""


# --------------------------------------------------------------------------
# Vetted sets
# --------------------------------------------------------------------------
@dataclass
class VettedFilter:
    """Vetted EE data sets of one filter."""

    filter: str
    fwhmfac: float
    sets: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    model_only: bool = False
    reason: str = ""

    @property
    def measured(self) -> list[tuple[str, str]]:
        """Sets calc_all_ees.py runs: the vetted ones, then the rejected ones."""
        return list(self.sets) + [s for s in self.rejected if s not in self.sets]


def parse_set_id(text, where: str = "") -> tuple[str, str]:
    """``"<type>/<TARGNAME>_setN"`` -> (type, set name)."""
    s = str(text).strip()
    if "/" not in s:
        raise ApcorError(f"{where}: data set {s!r} must be '<star type>/<TARGNAME>_setN'")
    stype, name = (p.strip() for p in s.split("/", 1))
    if stype not in C.STAR_TYPES + C.EXTRA_DIRS:
        raise ApcorError(f"{where}: unknown star type {stype!r} in {s!r} (expected one of {C.STAR_TYPES})")
    if "_set" not in name or not name.rsplit("_set", 1)[1].isdigit():
        raise ApcorError(f"{where}: set name {name!r} must end in _set<N>")
    return stype, name


def validate_vetted(table: dict, source: str = "vetted sets") -> dict[str, VettedFilter]:
    """Check a vetted-set mapping ({filter: {...}} or {"filters": {...}}) and return VettedFilter objects."""
    if isinstance(table, dict) and "filters" in table:
        table = table["filters"]
    if not isinstance(table, dict) or not table:
        raise ApcorError(f"{source}: expected a mapping 'filters: {{FILTER: {{sets: [...]}}}}'")
    out = {}
    for filt, entry in table.items():
        f = str(filt).strip().upper()
        where = f"{source}: {f}"
        if f not in C.ALL_FILTERS:
            raise ApcorError(f"{source}: unknown filter {filt!r}")
        entry = entry or {}
        if not isinstance(entry, dict):
            raise ApcorError(f"{where}: entry must be a mapping")
        unknown = set(entry) - {"fwhmfac", "sets", "rejected", "reason", "model_only"}
        if unknown:
            raise ApcorError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            fac = float(entry.get("fwhmfac", C.FWHMFAC[f]))
        except (TypeError, ValueError):
            raise ApcorError(f"{where}: fwhmfac must be a number") from None
        if not fac > 0:
            raise ApcorError(f"{where}: fwhmfac must be > 0")
        sets = [parse_set_id(s, where) for s in entry.get("sets") or []]
        rejected = [parse_set_id(s, where) for s in entry.get("rejected") or []]
        model_only = bool(entry.get("model_only", False))
        if not sets and not model_only:
            raise ApcorError(f"{where}: no vetted sets (give 'sets' or 'model_only: true')")
        if len(set(sets)) != len(sets):
            raise ApcorError(f"{where}: a set is listed twice")
        out[f] = VettedFilter(f, fac, sets, rejected, model_only, str(entry.get("reason", "")))
    return out


def load_vetted_sets(root=None, path=None) -> tuple[dict[str, VettedFilter], str]:
    """The active vetted-set table and where it came from.

    Parameters
    ----------
    root : path or None
        Campaign root; ``root/vetted_sets.yaml`` replaces the default if it exists.
    path : path or None
        Explicit YAML file (takes precedence).

    Returns
    -------
    (dict, str)
        {filter: VettedFilter} in plot order, and the source ("constants.VETTED_EE_SETS" or the file).
    """
    import yaml

    p = Path(path) if path is not None else (Path(root) / VETTED_FILE if root is not None else None)
    if path is not None and not p.is_file():
        raise ApcorError(f"{p}: vetted-sets file not found")
    if p is not None and p.is_file():
        try:
            data = yaml.safe_load(p.read_text())
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ApcorError(f"{p}: not valid YAML ({first})") from None
        table, source = validate_vetted(data, str(p)), str(p)
    else:
        table, source = validate_vetted(C.VETTED_EE_SETS, "constants.VETTED_EE_SETS"), "constants.VETTED_EE_SETS"
    order = {f: i for i, f in enumerate(C.PLOT_ORDER)}
    return dict(sorted(table.items(), key=lambda kv: order[kv[0]])), source


def vetted_sets_yaml(table: dict[str, VettedFilter], description: str = "") -> str:
    """The vetted-set table in the ``vetted_sets.yaml`` format."""
    import yaml

    filters = {}
    for f, v in table.items():
        e: dict = {"fwhmfac": float(v.fwhmfac)}
        if v.model_only:
            e["model_only"] = True
        e["sets"] = [f"{t}/{s}" for t, s in v.sets]
        if v.rejected:
            e["rejected"] = [f"{t}/{s}" for t, s in v.rejected]
        if v.reason:
            e["reason"] = v.reason
        filters[f] = e
    doc = {"version": 1}
    if description:
        doc["description"] = description
    doc["filters"] = filters
    head = "# vetted_sets.yaml: data sets of the APCORR file (absflux steps 3-4; format in absflux/apcorr.py)\n"
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)


# --------------------------------------------------------------------------
# Averages
# --------------------------------------------------------------------------
def set_apcor_path(root, startype: str, filt: str, dataset: str, fwhmfac: float) -> Path:
    """Per-set apcor table written by calc_encircled_energy."""
    from .encircled_energy import apcor_table_path, set_mosaics

    mos, _ = set_mosaics(root, startype, filt, dataset)
    return apcor_table_path(mos, fwhmfac)


@dataclass
class FilterApcor:
    """Mean and population std of the per-set aperture corrections of one filter."""

    filter: str
    ee: np.ndarray
    radius: np.ndarray
    radius_unc: np.ndarray
    apcor: np.ndarray
    apcor_unc: np.ndarray
    nsets: int
    sources: list[str]
    dates: list[str]
    model_only: bool = False
    contexts: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def at(self, ee: float) -> int:
        """Index of the EE fraction ``ee``."""
        k = np.flatnonzero(np.isclose(self.ee, ee))
        if k.size == 0:
            raise ApcorError(f"{self.filter}: no EE {ee} row")
        return int(k[0])


def average_tables(filt: str, tables, sources=(), dates=()) -> FilterApcor:
    """Mean and population std (ddof 0) of per-set apcor tables (columns ee, radii, apcor)."""
    if not tables:
        raise ApcorError(f"{filt}: no per-set apcor tables")
    ee = np.asarray(tables[0]["ee"], float)
    for t, src in zip(tables, list(sources) or [""] * len(tables), strict=True):
        if len(t) != len(ee) or not np.allclose(np.asarray(t["ee"], float), ee):
            raise ApcorError(f"{filt}: {src} has EE fractions {list(t['ee'])}, expected {list(ee)}")
    r = np.array([np.asarray(t["radii"], float) for t in tables])
    a = np.array([np.asarray(t["apcor"], float) for t in tables])
    return FilterApcor(
        filt, ee, r.mean(0), r.std(0), a.mean(0), a.std(0), len(tables), list(sources), [d for d in dates if d]
    )


def model_apcor_table(root, filt: str, fwhmfac: float, psf_file=None, pixel_boxes: int = 4):
    """Per-set-like apcor table (ee, radii, apcor) of the model PSF alone (``model_only`` filters).

    The EE is that of the PSF as a mosaic measures it
    (:func:`absflux.psf_model.model_encircled_energy` with ``pixel_boxes``
    detector-pixel box convolutions, default 4 for Image3 mosaics), since no
    observed curve sets the radii: in the flat parts of the EE curve the
    continuous PSF would put r(EE) several per cent off (F560W r(0.7): 3.76
    instead of 4.05 px).
    """
    from .encircled_energy import EEError, aperture_corrections, radii_grid
    from .psf_model import model_encircled_energy
    from .psfs import PSFError, psf_path, read_psf

    path = Path(psf_file) if psf_file else psf_path(root, filt)
    try:
        psf = read_psf(path, filt)
    except PSFError as exc:
        raise ApcorError(str(exc)) from None
    radii = radii_grid(filt, fwhmfac)
    ee = model_encircled_energy(filt, radii, psf=psf, ext="OVERDIST", pixel_boxes=pixel_boxes)
    try:
        return aperture_corrections(radii, ee, C.EE_FRACTIONS, f"{filt} model")
    except EEError as exc:
        raise ApcorError(str(exc)) from None


def collect(root, vetted: dict[str, VettedFilter], allow_missing: bool = False) -> dict[str, FilterApcor]:
    """Read and average the vetted per-set tables of every filter (errors name the filter and set).

    Parameters
    ----------
    root : path
        Campaign root.
    vetted : dict
        {filter: VettedFilter}.
    allow_missing : bool
        A missing or unreadable per-set table is a warning and a gap (``FilterApcor.missing``,
        recorded in the outputs) instead of an error; a filter with no table left is still an error.

    Returns
    -------
    dict
        {filter: FilterApcor}.
    """
    from .encircled_energy import EEError, read_set_apcor

    out = {}
    for f, v in vetted.items():
        if v.model_only and not v.sets:
            t = model_apcor_table(root, f, v.fwhmfac)
            src = str(Path(root) / "PSFs" / f"miri_{f}_psf.fits")
            fa = average_tables(f, [t], [src])
            fa.model_only = True
            out[f] = fa
            continue
        tables, sources, dates, contexts, missing = [], [], [], [], []
        for stype, sname in v.sets:
            p = set_apcor_path(root, stype, f, sname, v.fwhmfac)
            try:
                t = read_set_apcor(p)
            except EEError as exc:
                if not allow_missing:
                    raise ApcorError(
                        f"{f} {stype}/{sname}: {exc} (--allow-missing averages the other sets and records the gap)"
                    ) from None
                log.warning("%s %s/%s left out of the average: %s", f, stype, sname, exc)
                missing.append(str(p))
                continue
            tables.append(t)
            sources.append(str(p))
            dates.append(t.meta["info"].get("date_beg", ""))
            contexts.append(t.meta["info"].get("crds_context", ""))
        if not tables:
            raise ApcorError(f"{f}: none of the {len(v.sets)} vetted per-set apcor tables is usable ({missing[0]})")
        out[f] = average_tables(f, tables, sources, dates)
        out[f].contexts = [c for c in contexts if c and c != "offline"]
        out[f].missing = missing
    return out


def latex_row(fa: FilterApcor) -> str:
    """Paper Table 4 row: F & r0.7 +- s & r0.8 +- s & r0.85 +- s & apcor0.7 +- s \\\\."""
    i7, i8, i85 = fa.at(0.7), fa.at(0.8), fa.at(0.85)
    cells = [fa.filter]
    for i in (i7, i8, i85):
        cells.append(f"${fa.radius[i]:.2f} \\pm {fa.radius_unc[i]:.2f}$")
    cells.append(f"${fa.apcor[i7]:.3f} \\pm {fa.apcor_unc[i7]:.4f}$")
    return " & ".join(cells) + " \\\\"


def table4_rows_from_full(full) -> list[str]:
    """Paper Table 4 rows read back from a ``_full`` APCORR table (FULL rows, plot order).

    The same strings :func:`latex_row` prints when the file is created, so a table can be regenerated
    from the delivered file alone.
    """
    from astropy.table import Table

    t = full if isinstance(full, Table) else Table.read(full)
    fcol = np.char.strip(np.asarray(t["filter"]).astype(str))
    scol = np.char.strip(np.asarray(t["subarray"]).astype(str))
    ee = np.asarray(t["eefraction"], float)
    rows = []
    for f in C.PLOT_ORDER:
        sel = (fcol == f) & (scol == "FULL")
        if not sel.any():
            continue

        def at(frac, col, sel=sel, filt=f):
            i = np.flatnonzero(sel & np.isclose(ee, frac))
            if i.size == 0:
                raise ApcorError(f"{filt}: no FULL row at EE {frac} in the _full APCORR table")
            return float(t[col][i[0]])

        cells = [f]
        for frac in (0.7, 0.8, 0.85):
            if np.isclose(frac, 0.85):  # EE 0.85 is the outer sky radius of every row
                cells.append(f"${at(0.7, 'skyout'):.2f} \\pm {at(0.7, 'skyout_unc'):.2f}$")
            else:
                cells.append(f"${at(frac, 'radius'):.2f} \\pm {at(frac, 'radius_unc'):.2f}$")
        cells.append(f"${at(0.7, 'apcor'):.3f} \\pm {at(0.7, 'apcor_unc'):.4f}$")
        rows.append(" & ".join(cells) + " \\\\")
    return rows


def reffile_rows(results: dict[str, FilterApcor]):
    """(APCORR rows, full rows with uncertainties) for every filter and its subarrays (spec 3.11)."""
    from astropy.table import QTable, Table

    rows, full = [], []
    for f, fa in results.items():
        i8, i85 = fa.at(0.8), fa.at(0.85)
        for sub in C.reffile_subarrays(f):
            for e in REFFILE_FRACTIONS:
                i = fa.at(e)
                rows.append((f, sub, e, fa.radius[i], fa.apcor[i], fa.radius[i8], fa.radius[i85]))
                full.append(
                    (
                        f,
                        sub,
                        e,
                        fa.radius[i],
                        fa.radius_unc[i],
                        fa.apcor[i],
                        fa.apcor_unc[i],
                        fa.radius[i8],
                        fa.radius_unc[i8],
                        fa.radius[i85],
                        fa.radius_unc[i85],
                        fa.nsets,
                    )
                )
    dtype = [
        ("filter", f"S{FILTER_WIDTH}"),
        ("subarray", f"S{SUBARRAY_WIDTH}"),
        ("eefraction", "f4"),
        ("radius", "f4"),
        ("apcorr", "f4"),
        ("skyin", "f4"),
        ("skyout", "f4"),
    ]
    arr = np.array(rows, dtype=dtype)
    names = (
        "filter",
        "subarray",
        "eefraction",
        "radius",
        "radius_unc",
        "apcor",
        "apcor_unc",
        "skyin",
        "skyin_unc",
        "skyout",
        "skyout_unc",
        "nsets",
    )
    cols = list(zip(*full, strict=True))
    # nsets (new column): the number of vetted sets behind the mean; the error of the mean aperture
    # correction is apcor_unc / sqrt(nsets - 1) (apcor_unc is their population std)
    ft = QTable(
        [np.array(cols[0], dtype=str), np.array(cols[1], dtype=str)]
        + [np.array(c, dtype="f4") for c in cols[2:-1]]
        + [np.array(cols[-1], dtype="i4")],
        names=names,
    )
    return arr, Table(ft)


def date_tag(date: str | None = None) -> str:
    """``02sep25``-style tag of a date (YYYY-MM-DD; default today, UTC)."""
    if date:
        try:
            d = _dt.date.fromisoformat(str(date))
        except ValueError:
            raise ApcorError(f"--date {date!r} is not YYYY-MM-DD") from None
    else:
        d = _dt.datetime.now(_dt.UTC).date()
    return f"{d.day:02d}{d.strftime('%b').lower()}{d.strftime('%y')}"


def reffile_name(tag: str) -> str:
    """``jwst_miri_apcorr_flight_<tag>.fits``."""
    tag = str(tag).strip()
    if not tag or any(c in tag for c in "/\\ "):
        raise ApcorError(f"bad output tag {tag!r}")
    return f"jwst_miri_apcorr_flight_{tag}.fits"


def pedigree_from_dates(dates) -> str:
    """``INFLIGHT <first> <last>`` from observation dates, or the spec's value when none is known."""
    days = sorted(str(d)[:10] for d in dates if d and len(str(d)) >= 10)
    if not days:
        return DEFAULT_PEDIGREE
    return f"INFLIGHT {days[0]} {days[-1]}"


def build_model(rows, filename: str, pedigree: str, author: str, useafter: str, history=()):
    """The ``MirImgApcorrModel`` with the metadata and history of spec 2.1."""
    from stdatamodels.jwst.datamodels import MirImgApcorrModel

    m = MirImgApcorrModel(apcorr_table=rows)
    m.meta.date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    m.meta.filename = filename
    m.meta.telescope = "JWST"
    m.meta.instrument.name = "MIRI"
    m.meta.instrument.detector = "MIRIMAGE"
    m.meta.instrument.channel = "N/A"
    m.meta.exposure.type = "MIR_IMAGE"
    m.meta.exposure.p_exptype = P_EXPTYPE
    m.meta.reftype = "APCORR"
    m.meta.author = author
    m.meta.pedigree = pedigree
    m.meta.useafter = useafter
    m.meta.description = "Apcorr reference file."
    for line in (*HISTORY, *history):
        m.add_history_entry(line)
    return m


def write_reffile(rows, path, name: str, pedigree: str, author: str, useafter: str, history=()) -> Path:
    """Validate and save the ``MirImgApcorrModel`` at ``path`` (any name) with FILENAME ``name``.

    The datamodel is saved to a ``.fits`` sibling (it insists on the suffix)
    and renamed; CHANNEL = 'N/A' (dropped by the datamodel), SUBARRAY =
    'GENERIC' (not in the schema) and FILENAME are then set in the primary header.
    """
    import contextlib

    from astropy.io import fits

    from .io_utils import tmp_path

    path = Path(path)
    # the datamodel insists on a .fits suffix; a unique temporary that the stale-temporary clean-up knows
    tmp_fits = tmp_path(path.with_suffix(".fits"))
    model = build_model(rows, name, pedigree, author, useafter, history)
    try:
        model.validate()
        model.save(tmp_fits)
        os.replace(tmp_fits, path)
    finally:
        model.close()
        with contextlib.suppress(OSError):  # never hide the error that stopped the save
            tmp_fits.unlink(missing_ok=True)
    with fits.open(path, mode="update") as h:
        h[0].header["CHANNEL"] = "N/A"
        h[0].header["FILENAME"] = name
        h[0].header["SUBARRAY"] = ("GENERIC", "Subarray used")
    return path


@dataclass
class ApcorrOutput:
    """What :func:`create_apcor_reffile` wrote."""

    reffile: Path
    full: Path
    pointer: Path
    latex: list[str]
    results: dict
    source: str


def create_apcor_reffile(
    root,
    tag: str | None = None,
    date: str | None = None,
    vetted_file=None,
    author: str = DEFAULT_AUTHOR,
    pedigree: str | None = None,
    useafter: str = DEFAULT_USEAFTER,
    outdir=None,
    options: dict | None = None,
    allow_missing: bool = False,
) -> ApcorrOutput:
    """Average the vetted sets and write the APCORR file, its ``_full`` table and the pointer (all or nothing).

    Parameters
    ----------
    root : path
        Campaign root.
    tag : str or None
        Version tag of the output name; default :func:`date_tag` of ``date``.
    date : str or None
        YYYY-MM-DD for the name tag (default today).
    vetted_file : path or None
        Vetted-set YAML (default ``root/vetted_sets.yaml``, else the constants).
    author, pedigree, useafter : str
        Reference-file metadata (pedigree default: INFLIGHT first/last observation date).
    outdir : path or None
        Output directory (default ``root/ApCor``).
    options : dict or None
        Recorded in the provenance.
    allow_missing : bool
        A missing or unreadable per-set table is left out of its filter's average
        with a warning; the gap is recorded (``NMISSING``/``MISSING`` keywords of the
        ``_full`` table, HISTORY of the reference file).

    Returns
    -------
    ApcorrOutput

    Raises
    ------
    ApcorError
        Bad vetted table, a missing or bad per-set table (without ``allow_missing``), or
        an averaged value that is not physical (radius, annulus or apcor not finite and
        > 0): nothing is written then.
    """
    from astropy.table import Table

    from .io_utils import OutputSet, clean_stale_temporaries, provenance, provenance_lines, write_errors, write_table
    from .photometry import PhotometryError, check_apcorr_values, crds_note

    root = Path(root)
    vetted, source = load_vetted_sets(root, vetted_file)
    skipped = [f for f in C.PLOT_ORDER if f not in vetted]
    if skipped:
        log.info("filters not in the vetted table (left out of the APCORR file): %s", ", ".join(skipped))
    results = collect(root, vetted, allow_missing=allow_missing)
    name = reffile_name(tag if tag else date_tag(date))
    outdir = Path(outdir) if outdir is not None else root / APCOR_DIR
    ref_path = outdir / name
    full_path = outdir / name.replace(".fits", "_full.fits")
    pointer = outdir / POINTER
    rows, full = reffile_rows(results)
    try:
        # the writer refuses what step 5 would refuse (and what would silently make fluxes NaN or negative)
        check_apcorr_values(Table(rows), f"{ref_path.name} (not written)")
    except PhotometryError as exc:
        raise ApcorError(str(exc)) from None
    missing = [m for fa in results.values() for m in fa.missing]
    inputs = [s for fa in results.values() for s in fa.sources]
    prov = provenance(
        "create_apcor_reffile",
        inputs=inputs,
        options=options or {},
        notes=[f"vetted sets: {source}", crds_note(c for fa in results.values() for c in fa.contexts)]
        + [f"missing (left out of the average): {m}" for m in missing],
    )
    model_only = [f for f, fa in results.items() if fa.model_only]
    history = [f"absflux: vetted sets from {Path(source).name}; mean and population std over the sets"]
    if model_only:
        history.append("model PSF only (no vetted data): " + ", ".join(model_only))
    history += [ln for ln in provenance_lines(prov) if not ln.startswith("input:")]
    ped = pedigree or pedigree_from_dates(d for fa in results.values() for d in fa.dates)
    latex = [latex_row(fa) for fa in results.values()]
    if missing:
        history.append(f"{len(missing)} vetted set(s) missing, left out of the averages (see the _full table)")
    clean_stale_temporaries(outdir)
    with write_errors(), OutputSet() as out:
        with write_errors(ref_path):
            write_reffile(rows, out.stage(ref_path), name, ped, author, useafter, history)
        full.meta["REFFILE"] = name
        # the gap is part of the product: nsets alone would not say which set is absent
        full.meta["NMISSING"] = (len(missing), "vetted per-set tables missing (left out)")
        if missing:
            full.meta["MISSING"] = "; ".join(_relative_to(m, root) for m in missing)
        with write_errors(full_path):
            write_table(full, out.stage(full_path), "fits", prov)
        with write_errors(pointer):
            out.stage(pointer).write_text(name + "\n")
    log.info("wrote %s, %s and %s", ref_path, full_path.name, pointer.name)
    return ApcorrOutput(ref_path, full_path, pointer, latex, results, source)


def _relative_to(path, root) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


def read_full_table(path):
    """Read a ``_full`` APCORR table."""
    from astropy.table import Table

    return Table.read(path)


# --------------------------------------------------------------------------
# Realism report
# --------------------------------------------------------------------------
def crds_values(path, filt: str, subarray: str = "FULL") -> dict:
    """r(0.7), r(0.8), r(0.85) (= skyout) and apcor(0.7) of a filter in an APCORR file."""
    from .photometry import read_apcorr_table

    t = read_apcorr_table(path)
    sel = (np.asarray(t["filter"]) == filt) & (np.asarray(t["subarray"]) == subarray)
    rows = t[sel]
    if len(rows) == 0:
        raise ApcorError(f"{path}: no {filt}/{subarray} rows")
    e = np.asarray(rows["eefraction"], float)
    k7 = int(np.flatnonzero(np.isclose(e, 0.7))[0])
    k8 = int(np.flatnonzero(np.isclose(e, 0.8))[0])
    return {
        "r70": float(rows["radius"][k7]),
        "r80": float(rows["radius"][k8]),
        "r85": float(rows["skyout"][k7]),
        "apcor70": float(rows["apcorr"][k7]),
    }


def realism_report(crds_file, filters=C.IMAGER_FILTERS, cache_dir=None, **psf_kwargs):
    """The PSF model's r(EE=0.7, 0.8, 0.85) and apcor(0.7) next to a flight APCORR file (FULL).

    Parameters
    ----------
    crds_file : path
        Flight APCORR file (e.g. ``../shared/data/crds_reffiles/jwst_miri_apcorr_0010.fits``).
    filters : sequence of str
        Filters (default the 9 imager filters).
    cache_dir : path or None
        PSF cache (:func:`absflux.psf_model.psf_library`).
    **psf_kwargs
        Passed to :func:`absflux.psf_model.compute_psf` (default fov 256, oversample 4, nlambda 10).

    Returns
    -------
    astropy.table.Table
        filter, r70/r80/r85/apcor70 for the model and the CRDS file, and the ratios model/CRDS.
        The model values are :func:`absflux.psf_model.true_aperture_corrections` (as a
        mosaic measures them).
    """
    from astropy.table import Table

    from .psf_model import true_aperture_corrections

    rows = []
    for f in filters:
        t = true_aperture_corrections(f, cache_dir=cache_dir, **psf_kwargs)
        e = np.asarray(t["eefraction"], float)
        k7 = int(np.flatnonzero(np.isclose(e, 0.7))[0])
        k8 = int(np.flatnonzero(np.isclose(e, 0.8))[0])
        mod = {
            "r70": float(t["radius"][k7]),
            "r80": float(t["radius"][k8]),
            "r85": float(t["skyout"][k7]),
            "apcor70": float(t["apcorr"][k7]),
        }
        crd = crds_values(crds_file, f)
        row = {"filter": f}
        for k in ("r70", "r80", "r85", "apcor70"):
            row[f"{k}_model"] = mod[k]
            row[f"{k}_crds"] = crd[k]
            row[f"{k}_ratio"] = mod[k] / crd[k]
        rows.append(row)
    tab = Table(rows=rows)
    tab.meta["crds_file"] = os.path.basename(str(crds_file))
    return tab


def format_realism_rst(tab) -> str:
    """The realism table as an RST grid-like simple table (for the README)."""
    head = ("filter", "r70 model", "r70 CRDS", "ratio", "r80 model", "r80 CRDS", "ratio", "r85 model", "r85 CRDS")
    head += ("ratio", "apcor70 model", "apcor70 CRDS", "ratio")
    lines = []
    for r in tab:
        cells = [r["filter"]]
        for k in ("r70", "r80", "r85"):
            cells += [f"{r[k + '_model']:.2f}", f"{r[k + '_crds']:.2f}", f"{r[k + '_ratio']:.3f}"]
        cells += [f"{r['apcor70_model']:.3f}", f"{r['apcor70_crds']:.3f}", f"{r['apcor70_ratio']:.3f}"]
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    rule = "  ".join("=" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [rule, fmt.format(*head), rule] + [fmt.format(*c) for c in lines] + [rule]
    return "\n".join(out)
