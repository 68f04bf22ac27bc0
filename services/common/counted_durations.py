"""A counter and a latency histogram over one label set, kept as plain numbers until scraped.

Every call or request adds to these, so they are the hot path of the metrics: finding a series
once and then a bisect and two adds on plain Python numbers (~0.3 us), where prometheus_client's
Counter and Histogram take a lock per add and scan the buckets (~1.3 us for the pair). The
numbers become metric families only when /metrics is scraped. They are added to without a
lock: the callers add on one event loop thread; the scrape thread only reads, and may see one
event's count without its duration, never a torn number.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString


class Series:
    """One label set's counts per bucket (the last one past every bound) and their sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def add(self, seconds: float) -> None:
        """Count one event that took `seconds`."""
        self.counts[bisect_left(self.bounds, seconds)] += 1  # le: the first bound >= seconds
        self.total += seconds


class CountedDurations(Collector):
    """`<counter>_total` and the histogram `<histogram>`, one series per label values.

    Registered on creation (the process's registry by default): one per metric name, at import.
    """

    def __init__(
        self,
        counter: tuple[str, str],
        histogram: tuple[str, str],
        labels: tuple[str, ...],
        buckets: tuple[float, ...],
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.counter, self.histogram, self.labels = counter, histogram, labels
        self.buckets = buckets
        self._bounds = (*(floatToGoString(b) for b in buckets), "+Inf")  # type: ignore[no-untyped-call]
        self._series: dict[tuple[str, ...], Series] = {}
        registry.register(self)

    def series(self, values: tuple[str, ...]) -> Series:
        """Return the series of these label values (the same one for every caller)."""
        found = self._series.get(values)
        if found is None:
            found = self._series[values] = Series(self.buckets)
        return found

    def collect(self) -> Iterator[Metric]:
        """Yield the counter and the histogram, as the series stand now."""
        counted = CounterMetricFamily(*self.counter, labels=self.labels)
        timed = HistogramMetricFamily(*self.histogram, labels=self.labels)
        for values, series in list(self._series.items()):
            counts, total = list(series.counts), series.total
            cumulative, buckets = 0, []
            for bound, count in zip(self._bounds, counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            counted.add_metric(values, cumulative)
            timed.add_metric(values, buckets, total)
        yield counted
        yield timed
