"""Shared test setup: the package on sys.path, node scripts run from pytest, oracle fixtures."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
REPO = PACKAGE.parents[1]
SCRIPTS = PACKAGE / "scripts"
sys.path.insert(0, str(PACKAGE))


def run_node(script, *args, timeout=600):
    """Runs scripts/<script> with node from the package folder; returns its stdout."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the tests compare against @elementwise/* run by node")
    result = subprocess.run(
        [node, str(SCRIPTS / script), *map(str, args)],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        pytest.fail(f"node {script} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def oracle_cases(tmp_path_factory):
    out = tmp_path_factory.mktemp("oracle") / "ops.json"
    run_node("op_fixtures.mjs", out)
    return json.loads(out.read_text())["cases"]


def relative_rms(ref, got, floor=0.0):
    """||ref - got|| / ||ref||, with ||ref|| at least floor * sqrt(n) (for gradients that are 0)."""
    import torch

    ref = torch.as_tensor(ref, dtype=torch.float64).flatten()
    got = torch.as_tensor(got, dtype=torch.float64).detach().cpu().flatten()
    assert ref.shape == got.shape, f"shape {tuple(got.shape)} != oracle {tuple(ref.shape)}"
    assert torch.isfinite(got).all(), "non-finite values"
    norm = torch.maximum(ref.norm(), torch.tensor(floor * ref.numel() ** 0.5, dtype=torch.float64))
    diff = (ref - got).norm()
    return float(diff / norm) if norm > 0 else float(diff)


def assert_close(name, ref, got, tol, floor=1e-2):
    """Relative RMS error <= tol; a reference smaller than floor (RMS) counts as floor."""
    err = relative_rms(ref, got, floor)
    assert err <= tol, f"{name}: relative RMS error {err:.3g} > {tol:.1g}"


def skip_loudly(reason):
    """pytest.skip with the reason; the test script runs pytest with -rfEs, so the summary prints
    ``SKIPPED [1] ...: <reason>`` and a skip is never silent."""
    pytest.skip(f"SKIPPED: {reason}")


def pytest_terminal_summary(terminalreporter):
    """A vitest-style count line, which .ci/run's test summary adds up with the others."""
    stats = terminalreporter.stats
    passed = len([r for r in stats.get("passed", []) if getattr(r, "when", "call") == "call"])
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    skipped = len(stats.get("skipped", []))
    total = passed + failed + skipped
    terminalreporter.write_line(f"      Tests  {passed} passed | {failed} failed | {skipped} skipped ({total})")
