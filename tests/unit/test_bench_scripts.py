"""The benchmark scripts stay runnable: each imports, so the names it takes from another script still exist."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(path.stem for path in BENCH.glob("*.py") if path.stem != "__init__")


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_script_imports_without_running(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))  # as when run as `python bench/<script>.py`
    module = importlib.import_module(f"bench.{script}")
    assert module.__doc__, f"bench/{script}.py says what it measures"


def test_make_bench_skips_the_webhook_benchmark_with_a_message_when_wrk_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    run_all = importlib.import_module("bench.run_all")
    monkeypatch.setenv("PATH", str(tmp_path))  # a fresh machine: no wrk anywhere on the PATH

    figures = run_all.run("webhook.py", [])

    assert figures == {}
    assert "skipped bench/webhook.py: not installed: wrk (apt-get install wrk)" in capsys.readouterr().out
