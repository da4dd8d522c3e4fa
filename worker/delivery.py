"""Delivery through the results store: find a stored result, or compute it once under a lease and store it.

The worker asks :meth:`Delivery.find` first (one HEAD: a stored result is redirected to without reading the
source), and :meth:`Delivery.store_result` for a large result. ``store_result`` takes the lease, writes the
result and says how it ended; a request that finds the lease taken waits for the other writer's result. Any
failure of the store itself answers ``"stream"``, and the worker streams instead: the store makes downloads
faster, it never makes them fail. An error of the result's own chunks (the source) propagates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from worker.config import WorkerSettings
from worker.results import ResultMeta, ResultStore, StoreError

log = logging.getLogger("worker.delivery")
POLL_SECONDS = 0.2


@dataclass
class Delivery:
    """A results store with its public base URL and timings (see :class:`~worker.config.WorkerSettings`)."""

    store: ResultStore
    base_url: str = "/results/"
    lease_seconds: float = 90.0
    wait_seconds: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @classmethod
    def from_settings(cls, store: ResultStore, settings: WorkerSettings) -> Delivery:
        """The delivery of large results through ``store``, with the settings' base URL and timings."""
        return cls(
            store,
            base_url=settings.results_base_url,
            lease_seconds=settings.results_lease_seconds,
            wait_seconds=settings.results_wait_seconds,
        )

    def location(self, name: str) -> str:
        """Where the distribution serves the result ``name``: ``/results/{name}`` by default."""
        return f"{self.base_url}{name}"

    def find(self, name: str) -> bool:
        """Whether ``name`` is stored; a store failure counts as not stored."""
        try:
            return self.store.exists(name)
        except StoreError:
            log.warning("results store lookup failed; streaming", exc_info=True)
            return False

    def store_result(self, name: str, meta: ResultMeta, chunks: Callable[[], Iterator[bytes]]) -> str:
        """Make sure ``name`` is stored, computing ``chunks()`` at most once across concurrent requests.

        Returns how: ``"computed"`` (written now), ``"stored"`` (found after taking the lease), ``"waited"``
        (another request wrote it), or ``"stream"`` when the caller must stream (the store failed, or the other
        writer did not finish within ``wait_seconds``). Exceptions raised by ``chunks`` propagate.
        """
        try:
            leased = self.store.acquire(name, self.lease_seconds)
        except StoreError:
            log.warning("results lease failed; streaming", exc_info=True)
            return "stream"
        if not leased:
            return "waited" if self._wait(name) else "stream"
        try:
            if self.find(name):  # written between our lookup and our lease
                return "stored"
            self.store.write(name, chunks(), meta)
        except StoreError:
            log.warning("results write failed; streaming", exc_info=True)
            return "stream"
        finally:
            self.store.release(name)
        return "computed"

    def _wait(self, name: str) -> bool:
        deadline = self.clock() + self.wait_seconds
        while True:
            if self.find(name):
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(POLL_SECONDS)
