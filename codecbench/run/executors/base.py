"""The executor interface: run jobs somewhere, yield (job, record) pairs back to the main process as they finish.

An executor never touches the store: the runner in the main process is the single writer. Jobs are small
picklable :class:`~codecbench.run.jobs.Job` objects and :func:`~codecbench.run.jobs.execute_job` is a pure
function of the job, so any process or machine with the package and the data can run it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterable, Iterator

from codecbench.run.jobs import Job
from codecbench.run.record import PointRecord


class Executor(ABC):
    """Runs jobs. ``workers`` is the number of jobs measured at once (used for the overhead figure)."""

    name: str = "executor"
    workers: int = 1

    @abstractmethod
    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, PointRecord]]:
        """Yield (job, record) for every job, in completion order. A job that cannot run (its worker died)
        still yields a record with status "error"."""

    def notes(self) -> list[str]:
        """Lines for the run summary (where jobs ran, retries); none by default."""
        return []

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
