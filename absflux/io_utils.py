"""Shared output helpers: provenance metadata, atomic and all-or-nothing writes.

Every table a step writes should say which software wrote it, from which
inputs and with which options, and no step should leave a half-written file
or a partial set of outputs behind when it fails.  This module provides:

* :func:`software_versions` and :func:`provenance` - the provenance record
  (script, UTC date, versions of absflux/jwst/photutils/astropy/..., input
  files, options) as a plain dict;
* :func:`write_table` - write an astropy table to a temporary name and rename
  it, storing the provenance in the metadata in the way the format supports
  (FITS header keywords + HISTORY cards, commented lines for the ASCII
  formats, a nested mapping for ECSV);
* :class:`OutputSet` - stage several outputs (tables, figures, text) under
  temporary names and rename them all at the end (``commit``), or remove them
  all (``discard``), so a failure leaves nothing behind;
* :func:`atomic_path` / :func:`atomic_write_text` - the one atomic-write
  helper: a temporary name unique to the process and the call, removed on any
  failure, renamed on success;
* :func:`clean_stale_temporaries` - remove the temporaries of processes that
  no longer run (killed runs), so a rerun leaves none behind.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import logging
import os
import re
import secrets
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

#: Packages whose versions are recorded in every output table.
PROVENANCE_PACKAGES = ("absflux", "jwst", "photutils", "astropy", "numpy", "scipy", "matplotlib")

#: Short FITS keywords for the versions (8 characters at most).
_FITS_VERSION_KEYS = {
    "absflux": "V_ABSFLX",
    "jwst": "V_JWST",
    "photutils": "V_PHOTUT",
    "astropy": "V_ASTROP",
    "numpy": "V_NUMPY",
    "scipy": "V_SCIPY",
    "matplotlib": "V_MPL",
}


def software_versions(packages=PROVENANCE_PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` ("not installed" when absent).

    Parameters
    ----------
    packages : iterable of str
        Distribution names.

    Returns
    -------
    dict
        {package: version string}.
    """
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            if pkg == "absflux":
                from . import __version__

                out[pkg] = __version__
            else:
                out[pkg] = "not installed"
    return out


def _plain(value):
    """Options as plain, printable values (Paths -> str, tuples -> lists)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def provenance(script: str, inputs=(), options=None, notes=()) -> dict:
    """Provenance record of an output.

    Parameters
    ----------
    script : str
        Name of the producing script or function.
    inputs : iterable of str or Path
        Input files (recorded as given, resolved to absolute paths).
    options : dict or argparse.Namespace, optional
        Options of the run.
    notes : iterable of str
        Free-text notes (e.g. choices that deviate from the original scripts).

    Returns
    -------
    dict
        Keys ``script``, ``date`` (UTC ISO), ``software``, ``inputs``, ``options``, ``notes``.
    """
    if options is not None and not isinstance(options, dict):
        options = vars(options)
    return {
        "script": script,
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "software": software_versions(),
        "inputs": [str(Path(p).resolve()) for p in inputs],
        "options": {k: _plain(v) for k, v in (options or {}).items()},
        "notes": [str(n) for n in notes],
    }


def provenance_lines(prov: dict) -> list[str]:
    """The provenance record as one-line ``key: value`` strings (for ASCII comments)."""
    lines = [f"created by {prov['script']} on {prov['date']} UTC"]
    lines.append("software: " + ", ".join(f"{k} {v}" for k, v in prov["software"].items()))
    for p in prov["inputs"]:
        lines.append(f"input: {p}")
    if prov["options"]:
        lines.append("options: " + ", ".join(f"{k}={v}" for k, v in prov["options"].items()))
    for n in prov.get("notes", []):
        lines.append(f"note: {n}")
    return lines


def _fits_cards(prov: dict) -> dict:
    meta = {"CREATOR": prov["script"][:68], "DATE": prov["date"]}
    for pkg, v in prov["software"].items():
        key = _FITS_VERSION_KEYS.get(pkg)
        if key:
            meta[key] = str(v)
    meta["HISTORY"] = provenance_lines(prov)[2:] or ["no inputs recorded"]
    return meta


#: Suffixes of the temporaries this project writes: ``.<name>.<pid>-<token>.<kind>``.
TMP_KINDS = ("tmp", "staged")
_TMP_RE = re.compile(
    r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<token>[0-9a-f]{8})\.(?P<kind>tmp|staged)(?P<ext>\.[A-Za-z0-9]+)?$"
)
#: Prefix of the staging directories of step 1: ``.staging_<pid>-<token>_...``.
STAGING_PREFIX = ".staging_"
_STAGING_RE = re.compile(r"^\.staging_(?P<pid>\d+)-[0-9a-f]{8}")

#: errno values that mean "the output cannot be written here" (a one-line error, exit 2).
WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG}


#: How astropy/numpy report a full disk without an errno.
_NO_SPACE = re.compile(r"Not enough space on disk|\d+ requested and \d+ written")


def final_name(path) -> Path:
    """The product a temporary of :func:`tmp_path` stands for (the path itself for any other name)."""
    p = Path(str(path))
    while (m := _TMP_RE.match(p.name)) is not None:  # a staged file may hold a temporary of its own
        p = p.with_name(m.group("name"))
    return p


def write_error(exc: BaseException, where=None) -> OSError | None:
    """The "this output cannot be written" OSError behind ``exc``, naming the product; None if it is not one.

    The exception chain is searched for an errno of :data:`WRITE_ERRNOS` (disk
    full, read-only folder, no permission); astropy and numpy report a full disk
    as an OSError without errno ("Not enough space on disk ... [Errno 28]"),
    which counts as ENOSPC.  The file named is the product behind a temporary
    (:func:`final_name`), else ``where``.

    Parameters
    ----------
    exc : BaseException
        The exception raised while writing.
    where : str or Path, optional
        The product (or folder) to name when the error names none.

    Returns
    -------
    OSError or None
        ``exc`` itself when it already names a final product.
    """
    seen, e, code, fname = set(), exc, None, None
    while e is not None and id(e) not in seen and code is None:
        seen.add(id(e))
        if isinstance(e, OSError):
            if e.errno in WRITE_ERRNOS:
                code, fname = e.errno, e.filename
            elif e.errno is None and (_NO_SPACE.search(str(e)) or "[Errno 28]" in str(e)):
                code = errno.ENOSPC
        e = e.__cause__ or e.__context__
    if code is None:
        return None
    name = final_name(fname) if fname is not None else (Path(str(where)) if where is not None else None)
    if isinstance(exc, OSError) and exc.errno == code and name is not None and str(exc.filename) == str(name):
        return exc
    return OSError(code, os.strerror(code), None if name is None else str(name))


@contextlib.contextmanager
def write_errors(where=None):
    """Context manager: a write error inside becomes :func:`write_error`'s, naming the product (or ``where``)."""
    try:
        yield
    except BaseException as exc:
        err = write_error(exc, where)
        if err is None or err is exc:
            raise
        raise err from exc


@contextlib.contextmanager
def truncation_is_an_error():
    """Context manager: astropy's "File may have been truncated" warning raises instead.

    A truncated FITS file still opens (the missing data read as zeros, or HDUs
    absent); a reader that must not measure such a file opens it inside this.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="File may have been truncated")
        yield


def tmp_path(final, kind: str = "tmp") -> Path:
    """Temporary sibling of ``final``, unique to this process and call.

    The name ``.<name>.<pid>-<token>.<kind><ext>`` keeps the final extension (so
    format guessing by suffix still works), is hidden, and carries the writer's
    process id so that :func:`clean_stale_temporaries` can tell a killed run's
    leftovers from a running one's.
    """
    final = Path(final)
    return final.with_name(f".{final.name}.{os.getpid()}-{secrets.token_hex(4)}.{kind}{final.suffix}")


def _unlink_quietly(path: Path) -> None:
    # clean-up must never hide the error that made it necessary (e.g. EROFS on the unlink too)
    with contextlib.suppress(OSError):
        Path(path).unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(final):
    """Yield a temporary path; rename it to ``final`` when the block succeeds.

    On any exception (including KeyboardInterrupt/SystemExit from a signal)
    the temporary is removed and the exception propagates; ``final`` is then
    untouched.  A block that writes nothing leaves ``final`` untouched too.

    Examples
    --------
    >>> with atomic_path("out.fits") as tmp:          # doctest: +SKIP
    ...     hdul.writeto(tmp)
    """
    final = Path(final)
    tmp = tmp_path(final)
    try:
        yield tmp
        if tmp.exists():
            os.replace(tmp, final)
    except BaseException as exc:
        _unlink_quietly(tmp)
        # ENOSPC from a write() names no file, EROFS names the temporary: name the product instead
        err = write_error(exc, final)
        if err is None or err is exc:
            raise
        raise err from exc


def atomic_write_text(final, text: str) -> Path:
    """Write ``text`` to ``final`` atomically (see :func:`atomic_path`)."""
    with atomic_path(final) as tmp:
        tmp.write_text(text)
    return Path(final)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale_temporary(path) -> bool:
    """True for a temporary of this project whose writer process no longer runs."""
    name = Path(path).name
    m = _TMP_RE.match(name) or _STAGING_RE.match(name)
    return bool(m) and not _pid_alive(int(m.group("pid")))


def remove_quietly(path) -> bool:
    """Remove a file or a folder tree; False (and no exception) when it cannot be removed."""
    p = Path(path)
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    except OSError:
        return False
    return True


def clean_stale_temporaries(directory, recursive: bool = False) -> list[Path]:
    """Remove the temporaries (files and staging directories) of dead processes in ``directory``.

    Parameters
    ----------
    directory : str or Path
        Folder to clean (missing: nothing to do).
    recursive : bool
        Also clean every sub-folder.

    Returns
    -------
    list of Path
        What was removed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    it = directory.rglob(".*") if recursive else directory.glob(".*")
    for p in sorted(it):
        if is_stale_temporary(p) and remove_quietly(p):
            removed.append(p)
    if removed:
        log.info(
            "removed %d stale temporar%s of killed runs in %s",
            len(removed),
            "y" if len(removed) == 1 else "ies",
            directory,
        )
    return removed


def write_table(table, path, format: str, prov: dict | None = None, **kwargs) -> Path:
    """Write ``table`` to ``path`` atomically, with provenance in its metadata.

    Parameters
    ----------
    table : astropy.table.Table or QTable
        The table (not modified: a copy receives the metadata).
    path : str or Path
        Final file name; the table is written to a temporary sibling and renamed.
    format : str
        astropy format: ``fits``, ``ascii.commented_header``, ``ascii.ipac``, ``ascii.ecsv`` ...
    prov : dict, optional
        A :func:`provenance` record.
    **kwargs
        Passed to ``Table.write``.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    t = table.copy(copy_data=False)
    if prov is not None:
        if format == "fits":
            for k, v in _fits_cards(prov).items():
                t.meta[k] = v
        elif format in ("ascii.ecsv", "ecsv"):
            t.meta["provenance"] = prov
        elif format == "ascii.ipac":
            # IPAC comment lines are wrapped by astropy beyond 78 characters (with a warning): pre-wrap them
            import textwrap

            lines = [w for ln in provenance_lines(prov) for w in textwrap.wrap(ln, 76, subsequent_indent="  ")]
            t.meta["comments"] = list(t.meta.get("comments", [])) + lines
        else:
            t.meta["comments"] = list(t.meta.get("comments", [])) + provenance_lines(prov)
    with atomic_path(path) as tmp:
        t.write(tmp, format=format, overwrite=True, **kwargs)
    return path


class OutputSet:
    """Stage several output files and publish them together.

    Use :meth:`stage` to get a temporary path for each final path, write to it,
    then :meth:`commit` renames every staged file to its final name; on an
    exception :meth:`discard` removes them.  As a context manager, a clean exit
    commits and an exception discards.

    Examples
    --------
    >>> with OutputSet() as out:                       # doctest: +SKIP
    ...     write_table(t, out.stage("CalFacs/x.fits"), "fits")
    ...     fig.savefig(out.stage("Figs/x.png"), format="png")
    """

    def __init__(self):
        self._staged: dict[Path, Path] = {}
        self._dirs: list[Path] = []

    def stage(self, final) -> Path:
        """Temporary path for ``final`` (its directory is created if missing)."""
        final = Path(final)
        missing = []
        d = final.parent
        while not d.is_dir():
            missing.append(d)
            d = d.parent
        for d in reversed(missing):  # each folder created here is removed again by discard() if left empty
            with write_errors(d):
                d.mkdir()
            self._dirs.append(d)
        tmp = tmp_path(final, "staged")
        self._staged[final] = tmp
        return tmp

    @property
    def finals(self) -> list[Path]:
        """Final paths staged so far."""
        return list(self._staged)

    def commit(self) -> list[Path]:
        """Rename every staged file to its final name; returns the final paths."""
        done = []
        for final, tmp in self._staged.items():
            if not tmp.exists():
                raise FileNotFoundError(f"staged output {final} was never written")
        try:
            for final, tmp in self._staged.items():
                tmp.replace(final)
                done.append(final)
        except BaseException:
            self.discard()
            raise
        self._staged.clear()
        return done

    def discard(self) -> None:
        """Remove the staged temporaries (and directories this set created, if empty)."""
        for tmp in self._staged.values():
            _unlink_quietly(tmp)
        self._staged.clear()
        for d in reversed(self._dirs):
            try:
                d.rmdir()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            with write_errors():
                self.commit()
            return False
        last = self.finals[-1] if self.finals else None
        self.discard()
        err = write_error(exc, last)
        if err is not None and err is not exc:
            raise err from exc  # the product's name, not its staged temporary's
        return False
