"""The one atomic-write helper, stale temporaries, write errors naming the product, and cli.run."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from absflux import cli
from absflux.io_utils import (
    OutputSet,
    atomic_path,
    atomic_write_text,
    clean_stale_temporaries,
    final_name,
    is_stale_temporary,
    write_error,
    write_errors,
)
from absflux.io_utils import tmp_path as temp_name  # noqa: E402  (pytest's tmp_path is a fixture)

REPO = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_atomic_path_renames_on_success_and_removes_the_temporary_on_failure(tmp_path):
    out = tmp_path / "table.fits"
    atomic_write_text(out, "first")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("boom")
    assert out.read_text() == "first"  # the previous product is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.fits"]


def test_temporary_names_are_unique_and_map_back_to_the_product(tmp_path):
    final = tmp_path / "x.fits"
    names = {temp_name(final).name for _ in range(50)}
    assert len(names) == 50 and final.name not in names
    t = temp_name(final)
    assert t.name.startswith(".x.fits.") and t.suffix == ".fits" and f".{os.getpid()}-" in t.name
    assert final_name(t) == final
    assert final_name(temp_name(t, "staged")) == final  # a staged file's own temporary
    assert final_name(final) == final


def test_stale_temporaries_of_dead_processes_are_removed_not_those_of_live_ones(tmp_path):
    dead = _dead_pid()
    stale_file = tmp_path / f".t.fits.{dead}-0123abcd.tmp.fits"
    stale_dir = tmp_path / f".staging_{dead}-0123abcd_set"
    live_file = tmp_path / f".t.fits.{os.getpid()}-0123abcd.tmp.fits"
    other = tmp_path / ".hidden_but_not_ours"
    for f in (stale_file, live_file, other):
        f.write_text("x")
    stale_dir.mkdir()
    (stale_dir / "inside.fits").write_text("x")
    assert is_stale_temporary(stale_file) and not is_stale_temporary(live_file)
    removed = clean_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([stale_file, stale_dir])
    assert live_file.exists() and other.exists()


def test_write_error_recognises_a_full_disk_and_names_the_product(tmp_path):
    final = tmp_path / "phot.fits"
    staged = temp_name(final, "staged")
    # ENOSPC from write() names no file: the product given as ``where`` is named
    err = write_error(OSError(errno.ENOSPC, "No space left on device"), final)
    assert (err.errno, err.filename) == (errno.ENOSPC, str(final))
    # a read-only folder names the hidden temporary: the product is named instead
    err = write_error(OSError(errno.EROFS, "Read-only file system", str(staged)))
    assert (err.errno, err.filename) == (errno.EROFS, str(final))
    # astropy's free-space check raises a bare OSError, numpy a short write
    for msg in ("Not enough space on disk: requested 8640, available 0. [Errno 28] No space left on device",
                "8640 requested and 0 written"):  # fmt: skip
        err = write_error(OSError(msg), final)
        assert err.errno == errno.ENOSPC and err.filename == str(final)
    # anything else is not a write error
    assert write_error(ValueError("bad value")) is None
    assert write_error(OSError(errno.ENOENT, "No such file", "in.fits")) is None
    with pytest.raises(OSError) as info, write_errors(final):
        raise OSError("Not enough space on disk")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(final)


def test_outputset_discards_everything_and_names_the_product(tmp_path):
    deep = tmp_path / "CalFacs" / "sub" / "x.dat"
    with pytest.raises(OSError) as info, OutputSet() as out:
        out.stage(tmp_path / "a.dat").write_text("a")
        staged = out.stage(deep)
        staged.write_text("b")
        raise OSError(errno.EROFS, "Read-only file system", str(staged))
    assert info.value.filename == str(deep)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # both folders it created are gone too
    with OutputSet() as out:
        out.stage(deep).write_text("b")
    assert deep.read_text() == "b" and [p.name for p in deep.parent.iterdir()] == ["x.dat"]


def test_cli_run_turns_write_errors_into_one_line_and_exit_2(capsys):
    def main(argv=None):
        raise OSError("Not enough space on disk: requested 1, available 0")

    assert cli.run(main, []) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write output: No space left on device") and err.count("\n") == 1

    def other(argv=None):
        raise KeyError("not a write error")

    with pytest.raises(KeyError):
        cli.run(other, [])


def test_broken_pipe_is_no_traceback():
    code = "import sys; sys.argv=['x']; from absflux.cli import run\ndef main(a):\n    [print('line', i) for i in range(100000)]\n    return 0\nsys.exit(run(main))"
    r = subprocess.run(f'{sys.executable} -c "{code}" | head -1', shell=True, capture_output=True, text=True)
    assert r.stdout == "line 0\n" and "Traceback" not in r.stderr
