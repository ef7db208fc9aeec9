"""The step timer of `make demo`."""

from __future__ import annotations

import sys

from absflux import steptime


def test_step_is_timed_and_keeps_the_exit_code(tmp_path, capsys):
    log = tmp_path / "d" / "step_times.tsv"
    rc = steptime.main(
        ["--log", str(log), "--label", "1 sleep", "--", sys.executable, "-c", "import time; time.sleep(0.3)"]
    )
    assert rc == 0
    rc = steptime.main(["--log", str(log), "--label", "2 fail", "--", sys.executable, "-c", "import sys; sys.exit(3)"])
    assert rc == 3
    rows = steptime.read_log(log)
    assert [r[0] for r in rows] == ["1 sleep", "2 fail"] and [r[2] for r in rows] == [0, 3]
    assert 0.3 <= rows[0][1] < 5.0
    assert steptime.main(["--report", str(log)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["step", "wall", "time"] and "(exit code 3)" in out[2] and out[-1].startswith("total")


def test_report_formats_minutes_and_rejects_bad_use(tmp_path, capsys):
    lines = steptime.format_report([("a", 125.4, 0), ("b", 4.6, 0)])
    assert lines[1].endswith("2 min  5 s") and lines[2].endswith("5 s") and lines[3].endswith("2 min 10 s")
    assert steptime.main(["--report", str(tmp_path / "none.tsv")]) == 2
    assert steptime.main(["--log", str(tmp_path / "x.tsv"), "--label", "x"]) == 2
    assert "no step-time log" in capsys.readouterr().err
