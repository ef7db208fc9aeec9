"""Tools of the fault-injection tests: run a script as a user would, break inputs, inspect the tree.

Every fault test checks the same things: the exit code, a one-line error that
names the file, no partial product under a final name, no temporaries left
after a rerun, inputs unchanged (hashes), no process left behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Names of temporaries: this project's (io_utils.tmp_path, staging dirs) and the legacy ones.
_TEMP_RE = re.compile(r"^\.(.+\.\d+-[0-9a-f]{8}\.(tmp|staged)(\.\w+)?|staging_.*|part_.*|.*\.tmp(\.\w+)?)$")


def script_env(extra: dict | None = None) -> dict:
    """The environment of a user's shell: no CRDS_* variables of the test process, Agg backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    env["MPLBACKEND"] = "Agg"
    env.update(extra or {})
    return env


def run_script(script: str, *args, timeout: float = 900, env: dict | None = None, cwd=None):
    """Run a top-level script of the repository; returns the CompletedProcess (text output)."""
    return subprocess.run(
        [sys.executable, str(REPO / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=script_env(env),
        cwd=cwd,
    )


def start_script(script: str, *args, env: dict | None = None, cwd=None) -> subprocess.Popen:
    """Start a script in the background (for kill tests); output goes to files beside nothing (DEVNULL)."""
    return subprocess.Popen(
        [sys.executable, str(REPO / script), *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=script_env(env),
        cwd=cwd,
    )


def error_line(result) -> str:
    """The ``error: ...`` line of a failed run (AssertionError when there is none or a traceback)."""
    err = result.stderr
    assert "Traceback" not in err, f"traceback instead of a one-line error:\n{err[-3000:]}"
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert lines, f"no 'error: ' line in stderr:\n{err[-3000:]}"
    return lines[-1]


def assert_one_line_error(result, *fragments, code: int = 2) -> str:
    """Exit ``code``, an ``error:`` line containing every fragment (e.g. the file name), no traceback."""
    assert result.returncode == code, f"exit {result.returncode}, expected {code}\n{result.stderr[-3000:]}"
    line = error_line(result)
    for frag in fragments:
        assert str(frag) in line, f"{frag!r} not in {line!r}"
    return line


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_hashes(root: Path, pattern: str = "**/*") -> dict[str, str]:
    """{relative path: sha256} of the regular files under ``root`` matching ``pattern``."""
    root = Path(root)
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.glob(pattern)) if p.is_file()}


def temporaries(root: Path) -> list[Path]:
    """Hidden temporaries (files and staging folders) anywhere under ``root``."""
    return sorted(p for p in Path(root).rglob(".*") if _TEMP_RE.match(p.name))


def clone_tree(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` with hard links (fast; the project replaces files, never edits them in place).

    Fault tests must break a file with :func:`replace_bytes`, which writes a new
    inode, so that the shared original stays intact.
    """
    shutil.copytree(src, dst, copy_function=os.link, symlinks=True)
    return dst


def replace_bytes(path: Path, data: bytes) -> None:
    """Give ``path`` new content on a new inode (the hard-linked original is untouched)."""
    path = Path(path)
    path.unlink()
    path.write_bytes(data)


def truncate_copy(path: Path, fraction: float = 0.5) -> None:
    """Cut ``path`` to ``fraction`` of its size (on a new inode)."""
    data = Path(path).read_bytes()
    replace_bytes(path, data[: int(len(data) * fraction)])


def descendants(pid: int) -> list[int]:
    """Process ids of every live descendant of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def processes_mentioning(text: str) -> list[int]:
    """Live processes (not zombies) whose command line contains ``text``."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            out.append(int(d.name))
    return out


def wait_for(condition, timeout: float = 300, interval: float = 0.2) -> bool:
    """Poll ``condition()`` until it is true (True) or ``timeout`` seconds pass (False)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if condition():
            return True
        time.sleep(interval)
    return False


def kill9(proc: subprocess.Popen) -> None:
    """SIGKILL the process (only it, as ``kill -9 PID`` does) and reap it."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def assert_no_processes(text: str, timeout: float = 60) -> None:
    """No process whose command line mentions ``text`` is left after ``timeout`` seconds."""
    ok = wait_for(lambda: not processes_mentioning(text), timeout=timeout, interval=0.5)
    left = processes_mentioning(text)
    for pid in left:  # do not leave them behind for the next test
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert ok, f"processes left running: {left}"


def mounts_available() -> bool:
    """True when this process may make private mounts (root with CAP_SYS_ADMIN: CI and sessions here)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    r = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
    return r.returncode == 0


def mount_full_command(folder, free_kb: int) -> str:
    """Shell command (for a private mount namespace): put a tmpfs over ``folder`` holding its current content
    plus ``free_kb`` kB of room; the content is carried over through a ``mktemp -d`` folder."""
    import shlex

    d = shlex.quote(str(folder))
    return (
        f'size=$(( $(du -sk {d} | cut -f1) + {int(free_kb)} + 64 ))k; keep=$(mktemp -d); cp -a {d}/. "$keep"/; '
        f'mount -t tmpfs -o size=$size tmpfs {d}; cp -a "$keep"/. {d}/; rm -rf "$keep"'
    )


def run_script_mounted(script: str, *args, readonly=(), full=(), timeout: float = 900, env=None):
    """Run a script in a private mount namespace where folders are read-only or (nearly) full.

    Parameters
    ----------
    readonly : iterable of Path
        Folders bind-mounted read-only over themselves (writes give EROFS).
    full : iterable of (Path, int)
        Folders replaced by a tmpfs holding their current content plus ``free`` kB
        of room (writes past it give ENOSPC).  The real folder is untouched.

    Nothing outside the namespace sees these mounts; they vanish with the process.
    """
    import shlex

    cmds = [mount_full_command(d, free_kb) for d, free_kb in full]
    for d in readonly:
        d = shlex.quote(str(d))
        cmds.append(f"mount --bind {d} {d}; mount -o remount,bind,ro {d}")
    py = " ".join(shlex.quote(x) for x in [sys.executable, str(REPO / script), *map(str, args)])
    cmds.append(f"exec {py}")
    return subprocess.run(
        ["unshare", "-m", "sh", "-ec", "; ".join(cmds)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=script_env(env),
    )


def shared_tiny_chain(tmp_path_factory) -> Path:
    """The tiny campaign run through every step of ``make demo`` once per test session.

    pytest-xdist workers share the folder (the first one builds it under a file
    lock, the others wait); tests must not change it: :func:`clone_tree` it first.
    ``ABSFLUX_TINY_CHAIN=<dir>`` reuses a finished chain instead.
    """
    import fcntl

    given = os.environ.get("ABSFLUX_TINY_CHAIN")  # a finished chain to reuse while developing (never changed)
    if given:
        return Path(given)
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by all workers of this session
    root = base / "tiny_chain"
    with open(base / "tiny_chain.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = base / "tiny_chain.done"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            r = subprocess.run(
                ["make", "-C", str(REPO), "demo", "PRESET=tiny", f"DEMO_DIR={root}", f"PY={sys.executable}", "STAMP="],
                capture_output=True,
                text=True,
                env=script_env(),
            )
            (base / "tiny_chain.log").write_text(r.stdout + r.stderr)
            assert r.returncode == 0, f"make demo PRESET=tiny failed:\n{(r.stdout + r.stderr)[-4000:]}"
            done.write_text("ok\n")
    return root
