"""The scale benchmark's own arithmetic and accounting (tests/bench/scale.py, proctree.py), in the normal suite:
the benchmark itself takes an hour, so a wrong figure in its table would otherwise only show once published."""
from __future__ import annotations

import sys

import pytest

from tests.bench import scale
from tests.bench.proctree import TreeSampler

# a child that forks a CPU-burning grandchild and sleeps: on SIGINT both die and nobody waits for the grandchild
_ORPHANED_BURNER = """
import os, time
if os.fork() == 0:
    while True:
        pass
time.sleep(600)
"""


def test_an_interrupted_run_keeps_the_cpu_of_descendants_nobody_waited_for():
    # getrusage(RUSAGE_CHILDREN) alone reports ~0 s here: the grandchild's parent died without waiting for it
    run = scale.measured([sys.executable, "-c", _ORPHANED_BURNER], env={"PATH": "/usr/bin:/bin"}, budget_s=2.0)
    assert run["interrupted"]
    assert run["cpu_s"] >= 0.4, run["cpu_s"]  # ~2 s of a busy loop, minus the start and a loaded machine's share


def test_the_sampler_sums_memory_and_cpu_over_the_whole_tree():
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
                              "x = bytearray(64 << 20)\nfor i in range(0, len(x), 4096): x[i] = 1\n"
                              "time.sleep(30)"])
    try:
        sampler = TreeSampler(child.pid, interval=0.05).start()
        import time

        deadline = time.time() + 20
        while (sampler.result.peak_processes < 2 or sampler.result.peak_rss < 64 << 20) and time.time() < deadline:
            time.sleep(0.1)
        result = sampler.stop()
    finally:
        subprocess.run(["pkill", "-P", str(child.pid)])
        child.kill()
        child.wait()
    assert result.peak_processes == 2       # the child and its child, and nothing of ours
    assert result.peak_rss >= 64 << 20      # the 64 MiB the child touched
    assert result.peak_pss <= result.peak_rss
    assert result.cpu_s > 0


def test_extrapolation_skips_the_first_folds_that_carried_the_cold_preprocessing():
    # 2 workers: the first 2 folds computed every shared input; the steady folds take 10-12 s
    walls = [30.0, 30.0, 10.0, 12.0, 11.0]
    assert scale.extrapolate(100.0, walls, total_folds=20, workers=2) == pytest.approx(100 + 15 * 11 / 2)
    assert scale.extrapolate(100.0, [30.0], total_folds=3, workers=2) == pytest.approx(100 + 2 * 30 / 2)


def test_no_estimate_from_folds_that_all_carried_the_cold_preprocessing():
    assert scale.estimates(31.0, 47.0, [25.0, 26.0, 9.0], total_folds=94, workers=2) == {}
    est = scale.estimates(100.0, 180.0, [25.0, 26.0, 9.0, 11.0], total_folds=94, workers=2)
    assert est["wall_est_s"] == pytest.approx(100 + 90 * 10 / 2)
    assert est["cpu_est_s"] == pytest.approx(180 * est["wall_est_s"] / 100)  # CPU at the rate of the wall


def test_a_cell_total_is_a_lower_bound_when_a_run_stopped_without_an_estimate():
    rows = [{"cold": {"wall_s": 20.0}, "warm": {"wall_s": 15.0}},
            {"cold": {"wall_s": 150.0, "interrupted": True, "wall_est_s": 600.0}},
            {"cold": {"wall_s": 31.0, "interrupted": True}}]
    t = scale.totals(rows)
    assert (t["cold_wall_s"], t["warm_wall_s"]) == (651.0, 15.0)
    assert t["extrapolated"] and t["at_least"]
    assert not scale.totals(rows[:2])["at_least"]


def _doc(cold: dict, warm: dict | None = None) -> dict:
    row = {"cell": "casme3-7class", "bundle": "htnet-esaat", "cold": cold, **({"warm": warm} if warm else {})}
    return {"conditions": {"date": "d", "commit": "abc", "dirty": False, "cpus": 2}, "workers": 2, "quiet": "quiet",
            "rows": [row], "neural": ["htnet-esaat"], "totals": {}}


def test_the_table_marks_estimates_and_failures_and_shows_folds_run():
    interrupted = {"rc": -2, "interrupted": True, "wall_s": 150.0, "cpu_s": 290.0, "wall_est_s": 600.0,
                   "cpu_est_s": 1160.0, "folds_done": 24, "total_folds": 94, "peak_rss": 3 << 30, "peak_pss": 1 << 30,
                   "split": {"preprocessing": 20.0, "features": 4.0, "training": 448.0, "prediction": 0.4},
                   "per_fold": {"wall_s": 20.6, "training": 18.7}}
    failed = {"rc": 1, "interrupted": False, "wall_s": 3.0, "cpu_s": 2.0, "error": "boom"}
    too_short = {"rc": -2, "interrupted": True, "wall_s": 31.0, "cpu_s": 47.0, "folds_done": 1, "total_folds": 94}
    assert scale._t(too_short) == ">31 s" and scale._t(too_short, "cpu_s") == ">47 s"  # a bound, not a total
    text = scale.markdown(_doc(interrupted, failed))
    row = next(line for line in text.splitlines() if line.startswith("| casme3-7class | htnet-esaat | 24/94"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[3:7] == ["~10 min 00 s", "~19 min 20 s", "failed", "failed"]
    assert cells[7] == "3.00" and cells[8] == "1.00"
    assert "| casme3-7class | htnet-esaat | 20.6 s | 18.7 s |" in text  # the per-fold table of neural bundles


def test_a_busy_machine_is_not_called_quiet():
    rows = [{"cold": {"others_cpu_share": 0.02, "steal_share": 0.0}, "warm": {"others_cpu_share": 0.3,
                                                                              "steal_share": 0.01}}]
    assert scale.quiet_word(rows).startswith("shared")
    rows[0]["warm"]["others_cpu_share"] = 0.05
    assert scale.quiet_word(rows).startswith("quiet")


@pytest.mark.parametrize("seconds, text", [(42.4, "42 s"), (100, "1 min 40 s"), (3725, "62 min 05 s"),
                                           (None, "-")])
def test_durations_read_as_a_person_would_write_them(seconds, text):
    assert scale._dur(seconds) == text


def test_by_default_every_protocol_and_every_phase_is_a_cell():
    from harness.protocols import protocol_names

    cells = scale.all_cells()
    assert {c.partition(":")[0] for c in cells} == set(protocol_names())
    assert {"ccac2024-dfme:test_A", "ccac2024-dfme:test_B"} <= set(cells) and "ccac2024-dfme" not in cells


def test_by_default_every_shipped_bundle_runs_the_classic_ones_first():
    from harness.bundles.discover import discover_bundles
    from harness.bundles.manifest import load_bundle

    names = scale.shipped_bundles()
    assert sorted(names) == sorted(discover_bundles())
    neural = [load_bundle(discover_bundles()[n]).neural for n in names]
    assert neural == sorted(neural) and any(neural) and not all(neural)


def test_runs_started_from_a_background_job_still_receive_the_budget_interrupt():
    import signal
    import subprocess

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `cmd &` in a script leaves it
    try:
        scale.deliverable_interrupts()
        child = subprocess.run([sys.executable, "-c", "import signal; "
                                "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"],
                               capture_output=True, text=True, check=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert child.stdout.strip() == "True"  # the run gets KeyboardInterrupt, not an ignored signal
