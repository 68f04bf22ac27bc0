"""Scrape a real /metrics endpoint over HTTP and read its samples."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(answer: httpx.Response) -> Samples:
    """Check a /metrics answer and return every sample by name and labels."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


async def scrape(url: str) -> Samples:
    """GET `url` (without blocking the loop, which may serve it) and return its samples."""
    async with httpx.AsyncClient(timeout=10) as client:
        return parse(await client.get(url))


def scrape_sync(url: str) -> Samples:
    """GET `url` from a test with no event loop of its own and return its samples."""
    return parse(httpx.get(url, timeout=10))


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return a sample's value (0 when absent: a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def matching(samples: Samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    """Return the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return {key: v for (found, key), v in samples.items() if found == name and wanted <= key}


async def scrape_until(url: str, ready: Callable[[Samples], bool], within: float = 15) -> Samples:
    """Scrape until `ready` holds (work recorded just after the answer the test saw)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        samples = await scrape(url)
        if ready(samples) or asyncio.get_running_loop().time() > deadline:
            return samples
        await asyncio.sleep(0.05)
