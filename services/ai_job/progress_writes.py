"""How often a running job's progress reaches the database: watchers hear it at once."""

from __future__ import annotations

# Progress is published to watchers at once, but written to the database at most this often.
PROGRESS_WRITE_INTERVAL = 0.5


class ProgressWrites:
    """When each job's progress was last written, in this process."""

    def __init__(self, interval: float = PROGRESS_WRITE_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[int, float] = {}

    def due(self, job_id: int, now: float) -> bool:
        """Tell whether a report at `now` (monotonic seconds) should reach the database."""
        return now - self._last.get(job_id, 0.0) >= self.interval

    def written(self, job_id: int, now: float) -> None:
        """Remember that the job's progress was written at `now`."""
        self._last[job_id] = now

    def forget(self, job_id: int) -> None:
        """Drop an ended job."""
        self._last.pop(job_id, None)
