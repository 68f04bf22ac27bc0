"""Counts and durations kept as plain numbers: Prometheus bucket semantics (le) when scraped."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from services.common.counted_durations import CountedDurations


def test_a_scrape_gives_the_counter_and_cumulative_buckets() -> None:
    registry = CollectorRegistry()
    metrics = CountedDurations(
        ("t_done", "done"), ("t_seconds", "time"), ("kind",), (0.1, 1.0), registry
    )
    fast, slow = metrics.series(("fast",)), metrics.series(("slow",))
    assert metrics.series(("fast",)) is fast  # one series per label values
    fast.add(0.1)  # on a bound: counted in that bucket
    fast.add(0.05)
    slow.add(5.0)  # past every bound: only +Inf
    text = generate_latest(registry).decode()
    for line in (
        't_done_total{kind="fast"} 2.0',
        't_done_total{kind="slow"} 1.0',
        't_seconds_bucket{kind="fast",le="0.1"} 2.0',
        't_seconds_bucket{kind="fast",le="+Inf"} 2.0',
        't_seconds_bucket{kind="slow",le="1.0"} 0.0',
        't_seconds_bucket{kind="slow",le="+Inf"} 1.0',
        't_seconds_count{kind="slow"} 1.0',
        't_seconds_sum{kind="slow"} 5.0',
    ):
        assert line in text, text
