"""Worker pools die with their parent (kill -9 included) and clean up on the way out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fault_tools import alive as _alive  # noqa: E402
from fault_tools import descendants, wait_for  # noqa: E402

from absflux.procs import run_pool  # noqa: E402

PARENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from absflux.procs import run_pool

    out = Path(sys.argv[1])

    def task(i):
        tmp = out / f"task{i}.tmp"
        tmp.write_text("partial")
        (out / f"running{i}").write_text("")
        try:
            time.sleep(120)
        finally:
            tmp.unlink()  # what an atomic writer does on the way out

    run_pool(task, list(range(4)), 2)
    """
)


def _square(x):
    return x * x


def test_run_pool_results_and_bad_jobs():
    assert sorted(run_pool(_square, [1, 2, 3], 2)) == [1, 4, 9]
    assert run_pool(_square, [3], 1) == [9]
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        run_pool(_square, [1], 0)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_the_parent(tmp_path, sig):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    p = subprocess.Popen([sys.executable, str(script), str(tmp_path)], stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(list(tmp_path.glob("running*"))) == 2, timeout=60), p.stderr
        workers = descendants(p.pid)
        assert len(workers) >= 2
        os.kill(p.pid, sig)
        p.wait(timeout=30)
        gone = wait_for(lambda: not any(Path(f"/proc/{w}").exists() and _alive(w) for w in workers), timeout=30)
        assert gone, f"workers left: {[w for w in workers if _alive(w)]}"
        # each worker unwound its task: the temporaries are gone, no third task was started
        assert not list(tmp_path.glob("*.tmp"))
        assert len(list(tmp_path.glob("running*"))) == 2
    finally:
        for w in descendants(p.pid):
            os.kill(w, signal.SIGKILL)
        if p.poll() is None:
            p.kill()
