"""Wall time of the steps of ``make demo``.

``python -m absflux.steptime --log FILE --label LABEL -- command ...`` runs the
command, appends ``LABEL<TAB>seconds<TAB>exit code`` to FILE and exits with the
command's exit code; ``python -m absflux.steptime --report FILE`` prints the
table of the logged steps and their total.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def read_log(path: Path) -> list[tuple[str, float, int]]:
    """Rows (label, seconds, exit code) of a step-time log; malformed lines are skipped."""
    rows = []
    for line in Path(path).read_text().splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        try:
            rows.append((parts[0], float(parts[1]), int(parts[2])))
        except ValueError:
            continue
    return rows


def format_report(rows: list[tuple[str, float, int]]) -> list[str]:
    """Lines of the step-time table: label, wall time (m s), and a note for failed steps."""

    def hms(s: float) -> str:
        m, sec = divmod(int(round(s)), 60)
        return f"{m} min {sec:2d} s" if m else f"{sec} s"

    width = max([len(r[0]) for r in rows] + [10])
    out = [f"{'step'.ljust(width)}  wall time"]
    for label, sec, rc in rows:
        out.append(f"{label.ljust(width)}  {hms(sec)}" + (f"  (exit code {rc})" if rc else ""))
    out.append(f"{'total'.ljust(width)}  {hms(sum(r[1] for r in rows))}")
    return out


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = []
    if "--" in argv:
        k = argv.index("--")
        argv, cmd = argv[:k], argv[k + 1 :]
    p = argparse.ArgumentParser(prog="python -m absflux.steptime", description=__doc__)
    p.add_argument("--log", type=Path, help="step-time log to append to")
    p.add_argument("--label", help="name of the step")
    p.add_argument("--report", type=Path, help="print the table of this log and exit")
    args = p.parse_args(argv)
    if args.report:
        if not args.report.is_file():
            print(f"error: {args.report}: no step-time log", file=sys.stderr)
            return 2
        print("\n".join(format_report(read_log(args.report))))
        return 0
    if not (args.log and args.label and cmd):
        print("error: --log, --label and a command after -- are required", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rc = subprocess.call(cmd)
    dt = time.perf_counter() - t0
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with open(args.log, "a") as fh:
        fh.write(f"{args.label}\t{dt:.1f}\t{rc}\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
