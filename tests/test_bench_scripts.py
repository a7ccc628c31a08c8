"""The benchmarks still run against today's schema and services, at a tiny size.

They insert rows directly (fast set-up) and call services by their signatures, so a schema or
signature change breaks them without any other test noticing: after workspaces, every one of
these failed until it was mended. The figures are not checked here (speed is for the benchmarks
themselves, run by hand); only that each runs to the end and prints its figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The in-process benchmarks (no wrk, no servers of their own): script and tiny arguments.
SCRIPTS = {
    "import_bench.py": ["200"],
    "dashboard_list_bench.py": ["--links", "200", "--repeat", "1"],
    "click_pipeline_bench.py": ["--clicks", "500"],
    "stats_bench.py": ["--clicks", "2000"],
    "shlink_visits_bench.py": ["--clicks", "2000"],
    "clicks_scale_bench.py": ["--clicks", "2000", "--links", "20"],
    "redirect_instructions.py": ["20"],
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_benchmark_runs(script: str) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set (CI always sets it)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *SCRIPTS[script]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.strip(), "no figures printed"
