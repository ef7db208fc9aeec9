"""Worker pools whose workers die with their parent.

``concurrent.futures.ProcessPoolExecutor`` workers outlive a parent killed by
SIGKILL (they keep writing into the tree, then idle as orphans).  Every
``--jobs`` tool uses :func:`run_pool`: its workers ask the Linux kernel for
SIGTERM when the parent dies (``PR_SET_PDEATHSIG``), also check the parent at
start-up, turn SIGTERM into ``SystemExit`` so that their temporaries are
removed on the way out, and the parent terminates them when it is itself
interrupted.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


_terminated = False


def _worker_terminate(signum, frame):  # noqa: ARG001
    global _terminated
    _terminated = True
    # unwinds the task, so its ``finally`` blocks and atomic writes remove their temporaries; _call then exits
    raise SystemExit(143)


def _call(fn, task):
    """Run one task in a worker; a worker told to terminate exits once the task has unwound.

    The pool's worker loop catches every exception of a task (SystemExit
    included) and waits for the next one, so the worker would outlive its
    parent: leave the process here instead.
    """
    try:
        return fn(task)
    except BaseException:
        if _terminated:
            os._exit(143)
        raise


def _worker_init(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    signal.signal(signal.SIGTERM, _worker_terminate)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides on Ctrl-C
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def process_pool(jobs: int):
    """A ``ProcessPoolExecutor`` of ``jobs`` workers that die with this process.

    Submit ``procs._call, fn, task`` (as :func:`run_pool` does) so that a
    terminated worker leaves instead of taking the next task.
    """
    from concurrent.futures import ProcessPoolExecutor

    if int(jobs) < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    return ProcessPoolExecutor(max_workers=int(jobs), initializer=_worker_init, initargs=(os.getpid(),))


def terminate_pool(pool) -> None:
    """Stop a pool now: cancel queued tasks, SIGTERM running workers, wait for them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=30)
            if p.is_alive():
                p.kill()


def run_pool(fn, tasks, jobs: int, on_result=None) -> list:
    """Run ``fn(task)`` for every task, in ``jobs`` worker processes (or here when ``jobs == 1``).

    Parameters
    ----------
    fn : callable
        Picklable function of one task.
    tasks : sequence
        The tasks.
    jobs : int
        Worker processes (>= 1).
    on_result : callable, optional
        Called with each result as it arrives (e.g. a progress bar update).

    Returns
    -------
    list
        Results in completion order.  When the parent is interrupted
        (exception, SIGTERM, Ctrl-C) every worker is terminated before the
        exception propagates.
    """
    if int(jobs) < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    results = []
    if int(jobs) == 1 or len(tasks) <= 1:
        for t in tasks:
            r = fn(t)
            results.append(r)
            if on_result:
                on_result(r)
        return results
    from concurrent.futures import as_completed

    pool = process_pool(min(int(jobs), len(tasks)))
    try:
        futs = [pool.submit(_call, fn, t) for t in tasks]
        for fut in as_completed(futs):
            r = fut.result()
            results.append(r)
            if on_result:
                on_result(r)
    except BaseException:
        terminate_pool(pool)
        raise
    pool.shutdown(wait=True)
    return results
