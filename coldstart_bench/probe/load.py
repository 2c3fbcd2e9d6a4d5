"""Traffic on a replica that is still starting: a load trial's requests, sent by an asyncio
loop on a thread of its own while the main thread spawns the services and waits for them.

Arrivals follow the phase's schedule (:mod:`coldstart_bench.plan.arrivals`) from its
origin — spawn (t0) or ready. A request that arrives before the server is ready is held
until it is (``hold``, as a gateway would) or sent anyway and retried every
``retry_interval_ms`` while it finds nobody listening or a 502/503/504 (``retry``, as
clients do). After the cold phase, and ``warm_after_s`` later, the same load runs again
on the now warm replica: every trial carries its own warm baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import threading
import time
from typing import Protocol

from coldstart_bench.plan.arrivals import arrivals
from coldstart_bench.plan.specs import LoadSpec, ProbeSettings, RequestSpec
from coldstart_bench.probe.aclient import AsyncProbe
from coldstart_bench.probe.timeline import HARNESS_OUT_OF_FILES, out_of_descriptors
from coldstart_bench.results.schema import LoadRecord, RequestRecord, ns_to_ms
from coldstart_bench.scenario.schema import MAX_ARRIVALS

_RETRY_STATUS = (502, 503, 504)  # a proxy with no upstream yet, a server still loading


class Router(Protocol):
    """A fleet's client-side policy: which replica a request goes to (and the request as
    sent there), and when it is done with it."""

    def pick(self, request: RequestSpec) -> tuple[RequestSpec, str]: ...

    def release(self, replica: str) -> None: ...


class LoadRunner:
    """Start it before t0 (:meth:`prepare`: the thread, the loop and the client are not the
    server's cold start), then :meth:`begin` at t0, :meth:`ready` when the services are,
    and :meth:`finish` to collect the records. :meth:`close` on every path."""

    def __init__(
        self, load: LoadSpec, settings: ProbeSettings, router: Router | None = None
    ) -> None:
        self.load = load
        self.router = router  # a fleet's client-side policy (else: the request's own URL)
        self.traffic = load.settings
        self.settings = settings
        self.records: list[LoadRecord] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._prepared = threading.Event()
        self._begun: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._t0_ns = 0
        self._ready_ns: int | None = None
        self._abort: str | None = None
        self._error: BaseException | None = None
        self._dispatched = 0
        self._arrived = self._answered = 0  # every phase: outstanding = the difference
        self._mark: tuple[int, threading.Event] | None = None
        self.cut = False  # finish() ran out of time: what was in flight is recorded as cut

    # The main thread's side -------------------------------------------------------------

    def prepare(self) -> None:
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)
        self._thread.start()
        self._prepared.wait(30)

    def begin(self, t0_ns: int) -> None:
        """t0: with ``start = "spawn"``, the arrivals begin now."""
        self._t0_ns = t0_ns
        self._set(self._begun)

    def ready(self, ready_ns: int) -> None:
        """Every service is ready: held requests go, and ``start = "ready"`` begins."""
        self._ready_ns = ready_ns
        self._set(self._ready)

    def when_dispatched(self, count: int) -> threading.Event:
        """An event set once the load has dispatched ``count`` requests (cold phase)."""
        event = threading.Event()
        self._mark = (count, event)
        if self._dispatched >= count:
            event.set()
        return event

    def outstanding(self) -> int:
        """Requests arrived and not answered yet (held, queued or in flight): the demand a
        queue-driven autoscaler reads."""
        return self._arrived - self._answered

    def abort(self, reason: str) -> None:
        """The services will not be ready: held and retrying requests end failed."""
        self._abort = reason
        self._set(self._begun)
        self._set(self._ready)

    def finish(self, timeout_s: float | None = None) -> list[LoadRecord]:
        """Wait for both phases to end (at most ``timeout_s``, then cancel what is left)."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self.cut = True
                self.close()
        if self._error is not None:
            raise self._error
        order = {"cold": 0, "warm": 1}
        return sorted(self.records, key=lambda r: (order[r.phase], r.index))

    def close(self) -> None:
        if self._loop is not None and self._main is not None and not self._main.done():
            with contextlib.suppress(RuntimeError):  # the loop may have just closed
                self._loop.call_soon_threadsafe(self._main.cancel)
        if self._thread is not None:
            self._thread.join(10)

    def _set(self, event: asyncio.Event | None) -> None:
        if self._loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(event.set)

    # The load thread's side -------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._phases())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # handed to the main thread by finish()
            self._error = exc
        finally:
            self._prepared.set()

    async def _phases(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        self._begun, self._ready = asyncio.Event(), asyncio.Event()
        probe = AsyncProbe(self.settings)
        self._prepared.set()
        try:
            await self._begun.wait()
            if self.traffic.start == "ready":
                await self._ready.wait()
            if self._abort:
                return
            origin = self._t0_ns if self.traffic.start == "spawn" else self._ready_ns or 0
            sent = await self._phase(probe, "cold", origin)
            if self.traffic.warm_after_s is not None and not self._abort:
                await asyncio.sleep(self.traffic.warm_after_s)
                # a cold phase that lasted until after ready: the warm one sends as many
                same = sent if self.traffic.until_after_ready_s is not None else None
                await self._phase(probe, "warm", time.perf_counter_ns(), same)
        finally:
            await probe.aclose()

    async def _phase(
        self, probe: AsyncProbe, phase: str, origin: int, count: int | None = None
    ) -> int:
        """Send one phase's arrivals (at most ``count``); returns how many were sent."""
        offsets = arrivals(self.traffic)
        if offsets is None:  # closed loop: each client sends again when answered
            await self._closed_loop(probe, phase, origin)
            return 0
        # a phase that lasts until after ready has no count; however slow the start, it
        # sends no more than a phase may (the schema bounds every other)
        offsets = itertools.islice(offsets, MAX_ARRIVALS if count is None else count)
        until = self.traffic.until_after_ready_s if phase == "cold" else None
        tasks = []
        try:
            for index, offset in enumerate(offsets):
                arrival = origin + int(offset * 1e9)
                delay = (arrival - time.perf_counter_ns()) / 1e9
                if delay > 0:
                    await asyncio.sleep(delay)
                if self._abort or self._past(until, arrival):
                    break
                tasks.append(asyncio.create_task(self._one(probe, phase, index, arrival)))
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:  # the trial's time ran out: every arrival so far is recorded
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return len(tasks)

    def _past(self, until_s: float | None, arrival: int) -> bool:
        """Whether an arrival comes after the cold phase's end, ``until_s`` after ready."""
        ready = self._ready_ns
        return until_s is not None and ready is not None and arrival > ready + until_s * 1e9

    async def _closed_loop(self, probe: AsyncProbe, phase: str, origin: int) -> None:
        numbers = itertools.count()
        limit = self.traffic.requests
        stop_at = origin + int(self.traffic.duration_s * 1e9) if self.traffic.duration_s else None

        async def client() -> None:
            while not self._abort:
                index = next(numbers)
                now = time.perf_counter_ns()
                if (limit is not None and index >= limit) or (stop_at and now >= stop_at):
                    return
                await self._one(probe, phase, index, now)

        await asyncio.gather(*(client() for _ in range(self.traffic.concurrency)))

    async def _send(self, probe: AsyncProbe, spec: RequestSpec) -> RequestRecord:
        if self.router is None:
            return await probe.send(spec, self._t0_ns)
        return await _routed(probe, self.router, spec, self._t0_ns)

    async def _one(self, probe: AsyncProbe, phase: str, index: int, arrival: int) -> None:
        """Send one arrival and record it, whatever happens: answered, failed, timed out, or
        cut when the trial's time runs out while it is held or in flight."""
        assert self._ready is not None
        lag = time.perf_counter_ns() - arrival
        self._arrived += 1
        if phase == "cold":
            self._dispatched += 1
            if self._mark is not None and self._dispatched >= self._mark[0]:
                self._mark[1].set()
        templates = self.load.templates
        spec = dataclasses.replace(templates[index % len(templates)], index=index)
        held = False
        attempts, first_error = 0, None
        sent: RequestRecord | None = None
        try:
            if not self._ready.is_set() and self.traffic.before_ready == "hold":
                held = True
                await self._ready.wait()
            give_up = arrival + int(spec.timeout_s * 1e9)
            interval_s = self.traffic.retry_interval_ms / 1000
            while True:
                if self._abort and not self._ready_ns:
                    sent = _never_ready(index, arrival, self._t0_ns, self._abort)
                    break
                attempts += 1
                sent = await self._send(probe, spec)
                retry = (
                    self.traffic.before_ready == "retry"
                    and sent.status != "ok"
                    and (sent.status_code is None or sent.status_code in _RETRY_STATUS)
                )
                if not retry or time.perf_counter_ns() + interval_s * 1e9 > give_up:
                    break
                first_error = first_error or sent.error
                await asyncio.sleep(interval_s)
        except Exception as exc:  # this request failed, not the load
            sent = _not_sent(index, arrival, self._t0_ns, exc)
        except BaseException:  # cancelled: the trial's time ran out
            sent = _cut(index, arrival, self._t0_ns, held and not self._ready.is_set())
            raise
        finally:
            self._answered += 1
            assert sent is not None
            self.records.append(
                LoadRecord(
                    index=index,
                    phase=phase,  # type: ignore[arg-type]
                    arrival_ms=ns_to_ms(arrival - self._t0_ns),
                    request=sent,
                    attempts=attempts,
                    held=held,
                    first_error=first_error,
                    lag_ms=ns_to_ms(lag),
                )
            )


async def _routed(
    probe: AsyncProbe, router: Router, spec: RequestSpec, t0_ns: int
) -> RequestRecord:
    """One request sent where the router says, named with its replica."""
    routed, replica = router.pick(spec)
    try:
        sent = await probe.send(routed, t0_ns)
    finally:
        router.release(replica)
    return sent if sent.replica else dataclasses.replace(sent, replica=replica)


def _never_ready(index: int, arrival: int, t0_ns: int, reason: str) -> RequestRecord:
    return RequestRecord(
        index=index,
        status="failed",
        start_ms=ns_to_ms(arrival - t0_ns),
        error=f"not sent: the services never became ready ({reason.splitlines()[0]})",
    )


_CUT = "cut: "


def is_cut(record: LoadRecord) -> bool:
    """Whether a request was cut: held or in flight when the trial's time ran out."""
    return (record.request.error or "").startswith(_CUT)


def _cut(index: int, arrival: int, t0_ns: int, still_held: bool) -> RequestRecord:
    where = "held for readiness" if still_held else "in flight"
    return RequestRecord(
        index=index,
        status="timeout",
        start_ms=ns_to_ms(arrival - t0_ns),
        error=f"{_CUT}the trial's time ran out while it was {where}",
    )


def _not_sent(index: int, arrival: int, t0_ns: int, exc: Exception) -> RequestRecord:
    error = (
        HARNESS_OUT_OF_FILES
        if out_of_descriptors(exc)
        else f"not sent: {type(exc).__name__}: {exc}"
    )
    return RequestRecord(
        index=index, status="failed", start_ms=ns_to_ms(arrival - t0_ns), error=error
    )
