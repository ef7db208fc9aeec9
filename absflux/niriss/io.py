"""Input and output helpers of the NIRISS tools.

* :func:`read_exposure` reads a pipeline ``_rate``/``_cal`` product or a single-HDU
  image the way the original scripts did (spec section 2) and validates it;
* :func:`read_table_columns` reads the whitespace tables of the chain by position;
* :func:`write_outputs` writes one or more astropy tables atomically (temporary name,
  then rename), so that a failure leaves no partial output;
* :func:`provenance` builds the comment lines that record software versions and inputs.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "NirissInputError",
    "Exposure",
    "read_exposure",
    "read_table_columns",
    "write_outputs",
    "provenance",
    "software_versions",
]

#: Primary-header keywords required for a multi-extension (pipeline) product.
REQUIRED_PRIMARY_KEYWORDS = ("EFFINTTM", "NGROUPS", "NINTS", "PUPIL", "FILTER", "SUBARRAY")


class NirissInputError(Exception):
    """Bad input (missing file, unusable content, coordinates off the image, ...).

    The message is one line that names the file and the problem; the command-line
    tools print it on stderr and exit with status 2.
    """


@dataclass
class Exposure:
    """One exposure as the EE/SB scripts see it.

    Attributes
    ----------
    path : str
        File name as given.
    image : numpy.ndarray
        2-D float64 image in DN/s (``_cal`` data divided by PHOTMJSR); a private copy.
    dq : numpy.ndarray
        2-D integer DQ array (zeros for single-HDU images).
    inttime : float
        EFFINTTM of the primary header, 1.0 for a single-HDU image.
    do_dqflag : bool
        True for a pipeline (multi-extension) product.
    header : dict
        NGROUPS, NINTS, PUPIL, FILTER, SUBARRAY of the primary header (if present).
    photmjsr : float or None
        PHOTMJSR of the SCI header when the data were converted back to DN/s.
    """

    path: str
    image: np.ndarray
    dq: np.ndarray
    inttime: float = 1.0
    do_dqflag: bool = False
    header: dict = field(default_factory=dict)
    photmjsr: float | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape (ny, nx)."""
        return self.image.shape


def _find_ext(hdul, name: str, position: int):
    """Return the HDU called *name* if the file names its extensions, else the one at *position*."""
    names = [h.name.upper() for h in hdul]
    if name in names:
        return hdul[names.index(name)]
    if position < len(hdul):
        return hdul[position]
    return None


def read_exposure(path: str | os.PathLike) -> Exposure:
    """Read an exposure as ``getcircEE1``/``getcircSB1`` do (spec section 2).

    A file with more than one HDU is a pipeline product: the image is the SCI
    extension (extension 1), the DQ the DQ extension (extension 3; named extensions
    are preferred when present), EFFINTTM, NGROUPS, NINTS, PUPIL, FILTER and SUBARRAY
    come from the primary header, and a SCI-header PHOTMJSR converts MJy/sr back to
    DN/s.  A single-HDU file (e.g. a WebbPSF model) gives inttime 1 and an all-zero DQ.

    Parameters
    ----------
    path : str or path-like
        FITS file.

    Returns
    -------
    Exposure

    Raises
    ------
    NirissInputError
        Missing or unreadable file, missing header keywords, no 2-D image, DQ of a
        different shape.
    """
    from astropy.io import fits

    path = str(path)
    if not os.path.isfile(path):
        raise NirissInputError(f"{path}: file not found")
    try:
        with fits.open(path, memmap=False) as hdul:
            hdul.verify("silentfix")
            numext = len(hdul)
            if numext > 1:
                hdr0 = hdul[0].header
                missing = [k for k in REQUIRED_PRIMARY_KEYWORDS if k not in hdr0]
                if missing:
                    raise NirissInputError(f"{path}: missing primary-header keyword(s) {', '.join(missing)}")
                sci = _find_ext(hdul, "SCI", 1)
                dqh = _find_ext(hdul, "DQ", 3)
                if dqh is None:
                    raise NirissInputError(f"{path}: no DQ extension (extension 3)")
                image = _as_image(path, sci.data, "SCI")
                dq = dqh.data
                if dq is None or np.shape(dq) != image.shape:
                    raise NirissInputError(f"{path}: DQ extension missing or of a different shape than SCI")
                header = {k: hdr0[k] for k in ("NGROUPS", "NINTS", "PUPIL", "FILTER", "SUBARRAY")}
                try:
                    inttime = float(hdr0["EFFINTTM"])
                except (TypeError, ValueError):
                    raise NirissInputError(f"{path}: EFFINTTM is not a number") from None
                photmjsr = None
                if "PHOTMJSR" in sci.header:
                    photmjsr = float(sci.header["PHOTMJSR"])
                    if not np.isfinite(photmjsr) or photmjsr == 0:
                        raise NirissInputError(f"{path}: PHOTMJSR is zero or not finite")
                    image = image / photmjsr
                return Exposure(
                    path=path,
                    image=image,
                    dq=np.asarray(dq).astype(np.int64),
                    inttime=inttime,
                    do_dqflag=True,
                    header=header,
                    photmjsr=photmjsr,
                )
            image = _as_image(path, hdul[0].data, "primary")
            return Exposure(path=path, image=image, dq=np.zeros(image.shape, dtype=np.int64))
    except NirissInputError:
        raise
    except OSError as exc:
        raise NirissInputError(f"{path}: not a readable FITS file ({_one_line(exc)})") from None


def _as_image(path: str, data, where: str) -> np.ndarray:
    if data is None or np.ndim(data) != 2:
        raise NirissInputError(f"{path}: the {where} HDU holds no 2-D image")
    return np.array(data, dtype=np.float64)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def read_table_columns(path: str | os.PathLike, ncol: int, what: str = "table") -> list[np.ndarray]:
    """Read the first *ncol* columns of a whitespace table by position.

    The header line (the first non-comment line, if it is not numeric) and ``#``
    comment lines are skipped, so the column names do not matter (the shipped
    ``*_psf.radtab`` use two different sets of names).

    Parameters
    ----------
    path : str or path-like
        Table file.
    ncol : int
        Number of columns expected (extra columns are ignored).
    what : str
        Description used in error messages.

    Returns
    -------
    list of numpy.ndarray
        One float array per column.

    Raises
    ------
    NirissInputError
        Missing file, too few columns, non-numeric values or no rows.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise NirissInputError(f"{path}: {what} not found")
    rows = []
    first = True
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            parts = s.split()
            try:
                vals = [float(p) for p in parts[:ncol]]
            except ValueError:
                if first:  # header line
                    first = False
                    continue
                raise NirissInputError(f"{path}: non-numeric value in {what}: {s[:60]!r}") from None
            first = False
            if len(vals) < ncol:
                raise NirissInputError(f"{path}: {what} has fewer than {ncol} columns")
            rows.append(vals)
    if not rows:
        raise NirissInputError(f"{path}: {what} holds no data rows")
    arr = np.array(rows, dtype=float)
    return [arr[:, j] for j in range(ncol)]


def software_versions(extra: tuple[str, ...] = ()) -> str:
    """Return ``"python X numpy X astropy X ..."`` for the provenance comments."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"python {platform.python_version()}"]
    for pkg in ("absflux", "numpy", "scipy", "astropy", "photutils", *extra):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            continue
    return " ".join(parts)


def provenance(tool: str, inputs: list[str] | tuple[str, ...] = (), options: str = "", extra_packages=()) -> list[str]:
    """Comment lines recording the producing tool, software versions, inputs and options.

    Parameters
    ----------
    tool : str
        Script name, e.g. ``"getcircEE1"``.
    inputs : sequence of str
        Input file names.
    options : str
        Free-text description of the options used.
    extra_packages : sequence of str
        Further distributions whose versions matter (e.g. ``synphot``).

    Returns
    -------
    list of str
        Lines without the leading ``#`` (astropy adds ``# `` when writing).
    """
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [f"{tool} (absflux.niriss) {now}", f"software: {software_versions(tuple(extra_packages))}"]
    for name in inputs:
        lines.append(f"input: {name}")
    if options:
        lines.append(f"options: {options}")
    return lines


def write_outputs(items: list[tuple[object, str | os.PathLike, dict]]) -> None:
    """Write several tables atomically.

    Every table is first written to a temporary file in its target directory; only
    when all writes succeeded are they renamed to their final names.  On any error
    the temporary files are removed and nothing is left behind.

    Parameters
    ----------
    items : list of (table, path, write_kwargs)
        ``table.write(tmp, **write_kwargs)`` is called for each item.  A ``str``
        instead of a table is written verbatim as text.
    """
    targets = [os.path.realpath(str(path)) for _, path, _ in items]
    if len(set(targets)) != len(targets):
        raise NirissInputError(f"{items[0][1]}: the same output file is given twice")
    temps: list[tuple[str, str]] = []
    try:
        for table, path, kwargs in items:
            path = str(path)
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
            os.close(fd)
            temps.append((tmp, path))
            if isinstance(table, str):
                Path(tmp).write_text(table, encoding="utf-8")
            else:
                table.write(tmp, overwrite=True, **kwargs)
        for tmp, path in temps:
            os.replace(tmp, path)
        temps = []
    finally:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
