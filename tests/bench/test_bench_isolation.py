"""What confining a fold costs: the same LOSO run of a trivial bundle (so that only the per-fold machinery is
timed), each fold confined (namespaces, private root, no capabilities, Landlock) vs with --no-sandbox (the same
zygote, supervisor and JSON results, none of the confinement). The zygote is started before timing.

Run with `make bench` (pytest -m bench --benchmark-enable).
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.bench
SUBJECTS = 8


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from tests.tiny_corpus import write_tiny_corpus

    return write_tiny_corpus(tmp_path_factory.mktemp("isolation-bench"), casme3_subjects=SUBJECTS)


@pytest.mark.benchmark(group=f"one LOSO run of sanity-majority, {SUBJECTS} folds: confined vs --no-sandbox")
@pytest.mark.parametrize("sandbox", [True, False], ids=["confined folds", "--no-sandbox"])
def test_fold_isolation_overhead(benchmark, corpus, sandbox):
    from tests.fixtures.runs import submit

    def run():
        return submit("sanity-majority", "casme3-7class", data_root=corpus, rerun=True, sandbox=sandbox,
                      )

    run()  # starts the zygote, stages the frames
    out = benchmark.pedantic(run, rounds=5, iterations=1)
    assert out.report["n_samples"] == SUBJECTS * 6
