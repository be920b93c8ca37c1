"""Benchmark: intent classification throughput and latency, all 13 locales loaded, on one core.

Set-up (timed separately): read and index every catalog (what the first classify() call pays).
Timed: classify() over the texts of tests/nlu_eval.tsv, repeated, each with its row's locale as the
hint, one call at a time as the bot makes them. Floors, measured in the same run over the same texts:
normalise() alone, and normalise() plus a dict lookup of the result (the cheapest possible exact-match
classifier). For scale, a naive rapidfuzz `process.extractOne(text, every phrase, scorer=WRatio)` on a
sample. Goal: more than 5,000 texts/s.

    .venv/bin/python bench/classify.py [--repeat R] [--naive N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from measure import Figures, percentile, stopwatch, verdict
from rapidfuzz import fuzz, process

from bot.nlu import classify, normalise, understanding
from bot.nlu.evaluation import read_examples

GOAL_TEXTS_PER_S = 5_000
EVAL_FILE = Path(__file__).resolve().parent.parent / "tests" / "nlu_eval.tsv"


def per_call(texts: list[tuple[str, str]], call: Callable[[str, str], object]) -> tuple[float, float, list[float]]:
    """Return wall seconds, CPU seconds and each call's wall seconds for `call` over the texts."""
    latencies = []
    cpu_start = time.process_time()
    with stopwatch() as elapsed:
        for text, locale in texts:
            start = time.perf_counter()
            call(text, locale)
            latencies.append(time.perf_counter() - start)
    return elapsed(), time.process_time() - cpu_start, latencies


def measure_classify(figures: Figures, texts: list[tuple[str, str]]) -> float:
    """Time classify() over the texts; return the wall seconds."""
    wall, cpu, latencies = per_call(texts, classify)
    rate = len(texts) / wall
    figures.add(
        "texts_per_s",
        round(rate),
        f"classify: {rate:,.0f} texts/s wall, {len(texts) / cpu:,.0f} texts/s CPU "
        f"(goal > {GOAL_TEXTS_PER_S:,}: {verdict(rate > GOAL_TEXTS_PER_S)})",
    )
    p50, p99 = percentile(latencies, 0.50) * 1e6, percentile(latencies, 0.99) * 1e6
    figures.add(
        "p50_us", round(p50, 1), f"latency p50 {p50:.0f} µs, p99 {p99:.0f} µs, max {max(latencies) * 1e6:.0f} µs"
    )
    figures.values["p99_us"] = round(p99, 1)
    return wall


def measure_floors(figures: Figures, texts: list[tuple[str, str]], wall: float) -> None:
    """Time normalise() alone and normalise() plus a dict lookup, and compare classify() with them."""
    exact = {phrase.normalised: phrase.label for phrase in understanding().index.phrases}
    for key, label, call in (
        ("normalise_per_s", "normalise() alone", lambda text, _locale: normalise(text)),
        ("lookup_per_s", "normalise() + dict lookup", lambda text, _locale: exact.get(normalise(text))),
    ):
        floor, _cpu, _latencies = per_call(texts, call)
        figures.add(key, round(len(texts) / floor), f"floor, {label}: {len(texts) / floor:,.0f} texts/s; "
                    f"classify takes {wall / floor:.1f}x as long")  # fmt: skip
        figures.values[key.replace("_per_s", "_ratio")] = round(wall / floor, 1)


def measure_naive(figures: Figures, texts: list[tuple[str, str]], rate: float) -> None:
    """Time rapidfuzz's extractOne with WRatio over every phrase, the approach this replaces."""
    choices = [phrase.normalised for phrase in understanding().index.phrases]

    def naive(text: str, _locale: str) -> object:
        return process.extractOne(normalise(text), choices, scorer=fuzz.WRatio)

    wall, _cpu, _latencies = per_call(texts, naive)
    naive_rate = len(texts) / wall
    figures.add("naive_wratio_per_s", round(naive_rate), f"for scale, extractOne(WRatio) over all {len(choices):,} "
                f"phrases: {naive_rate:,.0f} texts/s, {rate / naive_rate:.0f}x slower than classify")  # fmt: skip


def main() -> None:
    """Parse the options, run the measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30, help="times the evaluation texts are classified")
    parser.add_argument("--naive", type=int, default=200, help="texts for the naive WRatio comparison (0: skip)")
    args = parser.parse_args()
    texts = [(example.text, example.lang) for example in read_examples(EVAL_FILE)] * args.repeat
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"classify: {len(texts):,} texts, Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {load}")  # fmt: skip
    figures = Figures("classify")
    with stopwatch() as elapsed:
        model = understanding()
    figures.add("index_build_ms", round(elapsed() * 1000, 1), f"read and index {len(model.index.phrases):,} phrases "
                f"in {len(model.catalogs.locales)} locales: {elapsed() * 1000:.0f} ms")  # fmt: skip
    wall = measure_classify(figures, texts)
    measure_floors(figures, texts, wall)
    if args.naive:
        measure_naive(figures, texts[: args.naive], len(texts) / wall)
    figures.finish()


if __name__ == "__main__":
    main()
