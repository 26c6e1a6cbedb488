"""The dispatcher: claims due deliveries from the outbox and runs their handlers."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import random
import socket
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence

from dolmen.events._batches import BatchRunner, Outcome, batched
from dolmen.events._clock import Clock, SystemClock
from dolmen.events._ports import DeliveryQueue
from dolmen.events._records import Claimed
from dolmen.events._retry import Retry
from dolmen.events._settings import EventSettings
from dolmen.events.exceptions import LeaseLost

logger = logging.getLogger("dolmen.events")

Runner = Callable[[Claimed], Awaitable[bool]]
"""Runs one claimed delivery's handler; returns whether its completion was recorded in the
handler's own transaction (False: the dispatcher records it). Raises when the handler fails."""


def new_owner() -> str:
    """An identity for this dispatcher, unique across processes and restarts."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Dispatcher:
    """Delivers the outbox's events to their handlers, in this process.

    It runs the deliveries of ``handlers`` (each name with its retry policy) and no other:
    the deliveries of handlers this process does not have wait for a process that has them.
    One loop claims due deliveries in batches under a lease (attempts are counted when
    claimed, so a crash mid-handler counts), runs each handler as its own task, at most
    ``concurrency`` at once (a claimed batch waits in hand for free slots, its leases
    renewed), and records the outcome: done, a retry at a time drawn from
    the handler's :class:`Retry`, or dead. It wakes at once when new events are committed
    (:meth:`hint`), and otherwise polls, backing off while idle. Leases of running
    deliveries are renewed; deliveries whose lease expired elsewhere are given back.

    With :attr:`hinted` set (commits of every process wake it, see :meth:`hint`), it stops
    polling fast while events flow and backs off to ``poll_max_seconds`` between looks.
    """

    def __init__(
        self,
        queue: DeliveryQueue,
        run: Runner,
        handlers: Mapping[str, Retry],
        settings: EventSettings | None = None,
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        rng: random.Random | None = None,
        ordered: Collection[str] = (),
        run_batch: BatchRunner | None = None,
        batchable: Collection[str] = (),
    ) -> None:
        self.queue = queue
        self._run = run
        self._run_batch = run_batch
        self._batchable = frozenset(batchable) if run_batch is not None else frozenset()
        """The handlers whose deliveries claimed together run in batches (see _batches)."""
        self._retries = dict(handlers)
        self._handlers = frozenset(handlers)
        self._ordered = frozenset(ordered)
        """The handlers declared ``ordered=True``: one subject's next event waits for the last."""
        self.settings = settings or EventSettings()
        self.clock = clock or SystemClock()
        self.owner = owner or new_owner()
        self._poll_min = self.settings.poll_min_seconds
        self._rng = rng or random.Random()
        self._in_hand = self.settings.concurrency + self.settings.batch_size
        """Deliveries held at most: those running and a batch waiting for a free slot."""
        self._refill = max(1, self.settings.batch_size // 2)
        """Claim again once this many have finished (not after every one)."""
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._polling = False
        self._hints = 0
        """How many hints came so far (one during a claim: claim again without a look)."""
        self.hinted = False
        """Every process's commits wake this dispatcher (NOTIFY, wake sockets): no fast polling."""
        self._retry_times: list[float] = []
        """When the retries scheduled here fall due, not yet looked for (a heap)."""
        self._running: dict[int, asyncio.Task[None]] = {}
        self._completed: list[int] = []
        self._wakeup = asyncio.Event()
        """Set to end the loop's wait: by :meth:`wake`, or to look again at when to wake."""
        self._woken = False
        """:meth:`wake` was called since the loop last looked at the outbox."""
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_reap = 0.0
        self._last_extend = 0.0
        self._last_purge = 0.0
        self._announced: float | None = None
        """When this dispatcher last said which handlers it runs (None: not since it started)."""
        self.failures = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the loop (in the running event loop)."""
        if self._loop_task is None:
            self._stopping = False
            self._loop_task = asyncio.get_running_loop().create_task(
                self._loop(), name="dolmen:dispatcher"
            )

    async def stop(self) -> None:
        """Stop claiming; give running handlers the grace period, then give back the rest."""
        self._stopping = True
        self.wake()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        running = list(set(self._running.values()))
        if running:
            late = await self._finish(running)
            held = [delivery for delivery, task in self._running.items() if task in late]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            await self.queue.release(held, self.owner, self.clock.now())
            if held:
                logger.warning("gave back %d deliveries still running at shutdown", len(held))
        await self._flush_completed()
        if self._announced is not None:
            self._announced = None
            await self.queue.withdraw(self.owner)

    async def _finish(self, running: list[asyncio.Task[None]]) -> set[asyncio.Task[None]]:
        """Wait up to the grace period for ``running``, renewing their leases; the late ones."""
        lease = self.settings.lease_seconds
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        late = set(running)
        while late:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _, late = await asyncio.wait(late, timeout=min(left, lease / 3))
            if late:
                still = [d for d, task in self._running.items() if task in late]
                await self.queue.extend(still, self.owner, self.clock.now() + lease)
        return late

    def wake(self) -> None:
        """Look at the outbox now."""
        self._woken = True
        self._wakeup.set()

    def hint(self) -> None:
        """New events were committed (here or in another process): claim them now."""
        self._polling = False  # no need to look before claiming
        self._hints += 1
        self.wake()

    async def drain(self, *, within: float = 30.0, retries: bool = False) -> None:
        """Wait until no delivery is running here and none is due; raises TimeoutError.

        Only deliveries of this dispatcher's handlers count. With ``retries``, also wait for
        the retries scheduled later.
        """
        deadline = time.monotonic() + within
        while True:
            self.wake()
            if not self._running and not self._completed:
                due_by = None if retries else self.clock.now()
                if await self.queue.unsettled(due_by, self._handlers) == 0:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"events still pending after {within} s")
            await asyncio.sleep(0.005)

    # -- the loop ----------------------------------------------------------------------

    async def _loop(self) -> None:
        idle = self._poll_min
        while not self._stopping:
            self._wakeup.clear()
            self._woken = False
            try:
                claimed, wanted = await self.tick()
            except Exception:
                logger.exception("the dispatcher could not read the outbox; trying again")
                claimed, wanted = 0, 1
                idle = min(max(idle * 2, 0.5), self.settings.poll_max_seconds)
            if wanted and claimed == wanted:
                idle = self._poll_min
                continue  # there may be more due right now
            if not wanted and self._running:
                # Full: wait for room (finishing handlers wake the loop), but come back in
                # time to renew the running deliveries' leases.
                await self.clock.wait(self._wakeup, self.settings.lease_seconds / 3)
                continue
            if claimed and not self.hinted:
                idle = self._poll_min  # events are flowing: look again soon
            if await self._sleep(await self._wait_for(idle)):
                if not self.hinted:
                    idle = self._poll_min
            elif not claimed or self.hinted:
                idle = min(idle * 2, self.settings.poll_max_seconds)  # quiet: back off

    async def tick(self) -> tuple[int, int]:
        """One round: keep leases and the outbox tidy, claim what is due, start its handlers.

        Returns (claimed, wanted): how many deliveries were claimed of how many there was
        room for.
        """
        now = self.clock.now()
        await self._housekeeping(now)
        room = self._in_hand - len(self._running)
        wanted = min(self.settings.batch_size, room) if not self._stopping else 0
        if wanted <= 0 or (self._running and room < self._refill):
            await self._flush_completed()
            return 0, 0  # claim in batches: wait until enough handlers have finished
        if self._polling:
            # Found nothing last time: look before claiming. A look is a read; a claim is a
            # write, which on SQLite would take the lock the publishers need.
            due = await self.queue.next_due(self._handlers)
            if due is None or due > now:
                self._retries_looked_for(now)
                await self._flush_completed()
                return 0, wanted
        hints = self._hints
        with self._taking_completed() as done:  # recorded with the claim, in one transaction
            claimed = await self.queue.claim(
                self.owner, self._handlers, wanted, now, self.settings.lease_seconds, done
            )
        self._retries_looked_for(now)
        # Found nothing: look before the next claim, unless new events were committed
        # meanwhile (a hint while the claim was on its way): claim them at once.
        self._polling = not claimed and hints == self._hints
        loop = asyncio.get_running_loop()
        for group in batched(claimed, self._batchable):
            work = self._deliver(group[0]) if len(group) == 1 else self._deliver_batch(group)
            task = loop.create_task(work, name=f"dolmen:{group[0].handler}")
            for delivery in group:
                self._running[delivery.id] = task
        return len(claimed), wanted

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``, or less; True when woken (:meth:`wake`, :meth:`hint`).

        A retry scheduled here meanwhile (a handler failed) that falls due sooner ends the
        wait at its due time.
        """
        until = self.clock.now() + seconds
        while not self._woken:
            left = until - self.clock.now()
            if left <= 0 or not await self.clock.wait(self._wakeup, left):
                return self._woken
            self._wakeup.clear()
            if self._next_retry is not None:
                until = min(until, self._next_retry)
        return True

    @property
    def _next_retry(self) -> float | None:
        """When the earliest retry scheduled here falls due."""
        return self._retry_times[0] if self._retry_times else None

    def _retry_scheduled(self, retry_at: float) -> None:
        """A retry falls due at ``retry_at``: make sure the loop is awake by then."""
        sooner = not self._retry_times or retry_at < self._retry_times[0]
        heapq.heappush(self._retry_times, retry_at)
        if sooner:
            self._wakeup.set()  # the loop's wait looks at its end again (see _sleep)

    def _retries_looked_for(self, now: float) -> None:
        """The outbox was read for what is due at ``now``: the retries due by then were seen."""
        while self._retry_times and self._retry_times[0] <= now:
            heapq.heappop(self._retry_times)

    async def _wait_for(self, idle: float) -> float:
        """How long to sleep: the poll interval, or less.

        Shorter when a retry scheduled here falls due sooner, and while handlers run, so
        that their leases are renewed in time.
        """
        timeout = idle
        if self._running:
            timeout = min(timeout, self.settings.lease_seconds / 3)
        now = self.clock.now()
        if self._next_retry is not None:  # (due already: it fell due during the round)
            timeout = min(timeout, max(self._next_retry - now, 0.0))
        if self.hinted:  # new events wake it; retries scheduled elsewhere wait for a poll
            return timeout
        if timeout <= self._poll_min * 4:
            return timeout  # events are flowing: no need to look for the next retry
        try:
            due = await self.queue.next_due(self._handlers)
        except Exception:
            return timeout
        now = self.clock.now()
        if due is not None and due > now:  # (due rows held back by their order wait for a wake)
            timeout = min(timeout, due - now)
        return timeout

    async def idle(self) -> None:
        """Wait for the handlers started so far (for tests that drive :meth:`tick`)."""
        while self._running:
            await asyncio.gather(*set(self._running.values()), return_exceptions=True)
        await self._flush_completed()

    async def _housekeeping(self, now: float) -> None:
        lease = self.settings.lease_seconds
        if self._announced is None or now - self._announced >= lease / 3:
            await self.queue.announce(self.owner, self._handlers, now + lease)
            self._announced = now
        if self._running and now - self._last_extend >= lease / 3:
            self._last_extend = now
            await self.queue.extend(list(self._running), self.owner, now + lease)
        if now - self._last_reap >= min(lease / 2, 5.0):
            self._last_reap = now
            reaped = await self.queue.reap(now)
            if reaped:
                logger.warning("took back %d deliveries whose lease expired", reaped)
        if now - self._last_purge >= 60.0:
            self._last_purge = now
            await self.queue.purge(now - self.settings.keep_completed_seconds)

    @contextlib.contextmanager
    def _taking_completed(self) -> Iterator[list[int]]:
        """The completions waiting to be recorded; given back if recording them fails."""
        done, self._completed = self._completed, []
        try:
            yield done
        except BaseException:
            self._completed[:0] = done  # recorded next time; never lost
            raise

    async def _flush_completed(self) -> None:
        if not self._completed:
            return
        with self._taking_completed() as done:
            recorded = await self.queue.complete(done, self.owner, self.clock.now())
        if recorded < len(done):
            logger.warning(
                "%d of %d completed deliveries had been taken over after their lease ran out; "
                "they may run again elsewhere", len(done) - recorded, len(done),
            )  # fmt: skip

    async def _deliver(self, delivery: Claimed) -> None:
        try:
            async with self._slots:  # at most ``concurrency`` handlers run at once
                recorded = await self._run(delivery)
            await self._outcome(delivery, recorded)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self._outcome(delivery, error)
        finally:
            self._ended([delivery])

    async def _deliver_batch(self, batch: list[Claimed]) -> None:
        """Run ``batch`` (one handler's deliveries) in one transaction; the rest one by one."""
        assert self._run_batch is not None  # only batchable handlers are batched
        ran: Sequence[Outcome] = ()
        try:
            async with self._slots:  # one handler runs at a time in a batch
                ran = await self._run_batch(batch)
        except asyncio.CancelledError:
            self._ended(batch)
            raise
        except LeaseLost:
            # Expected when this process was too slow to renew its leases (a busy machine):
            # no traceback, as for one delivery (see _outcome). Those taken over roll back.
            logger.warning(
                "a batch of %d deliveries to %s was rolled back: one of them was taken over "
                "after its lease ran out; running them one by one", len(batch), batch[0].handler,
            )  # fmt: skip
        except Exception:
            logger.warning("a batch of %d deliveries to %s failed as a whole; running them one "
                           "by one", len(batch), batch[0].handler, exc_info=True)  # fmt: skip
        try:
            for delivery, outcome in zip(batch, ran, strict=False):
                await self._outcome(delivery, outcome)
        finally:
            self._ended(batch[: len(ran)])
        rest = batch[len(ran) :]  # not run: the batch's time was up, or it failed as a whole
        if self._stopping:  # stop() waits for the tasks it saw: give these back untried
            self._ended(rest)
            await self.queue.release([d.id for d in rest], self.owner, self.clock.now())
            return
        loop = asyncio.get_running_loop()
        for delivery in rest:
            task = loop.create_task(self._deliver(delivery), name=f"dolmen:{delivery.handler}")
            self._running[delivery.id] = task

    async def _outcome(self, delivery: Claimed, outcome: Outcome) -> None:
        """Record how ``delivery`` went: done in its transaction (True), done, or failed."""
        if outcome is True:
            return
        if outcome is False:
            self._completed.append(delivery.id)
        elif isinstance(outcome, LeaseLost):
            logger.warning(
                "delivery %d (%s) was taken over after its lease ran out; its effects were "
                "rolled back here", delivery.id, delivery.handler,
            )  # fmt: skip
        else:
            await self._failed(delivery, outcome)

    def _ended(self, deliveries: Sequence[Claimed]) -> None:
        """``deliveries`` no longer run here: wake the loop if that lets it claim again."""
        room = self._in_hand - len(self._running)
        for delivery in deliveries:
            self._running.pop(delivery.id, None)
            if delivery.handler in self._ordered and delivery.envelope.subject is not None:
                self.wake()  # the next delivery of its subject, held back for order, may go
        if room < self._refill <= self._in_hand - len(self._running):
            self.wake()  # room for a batch again

    async def _record_failure(
        self, delivery: Claimed, now: float, retry_at: float | None, message: str, trace: str
    ) -> bool:
        """``store.fail``, tried again a few times (on SQLite the write lock may be busy).

        Meanwhile the delivery stays among the running ones, so its lease is renewed.
        """
        for pause in (0.05, 0.2, 0.5, 1.0):
            try:
                return await self.queue.fail(
                    delivery.id, self.owner, now, retry_at=retry_at, error=message, traceback=trace
                )
            except Exception:
                logger.warning("recording the failure of delivery %d failed; trying again",
                               delivery.id, exc_info=True)  # fmt: skip
                await asyncio.sleep(pause)
        return await self.queue.fail(
            delivery.id, self.owner, now, retry_at=retry_at, error=message, traceback=trace
        )

    async def _failed(self, delivery: Claimed, error: Exception) -> None:
        self.failures += 1
        try:
            now = self.clock.now()
            policy = self._retries.get(delivery.handler, Retry())
            last = delivery.attempts >= delivery.max_attempts or policy.gives_up_on(error)
            retry_at = None if last else now + policy.delay(delivery.attempts, self._rng)
            message = f"{type(error).__name__}: {error}"
            trace = "".join(traceback.format_exception(error))
            held = await self._record_failure(delivery, now, retry_at, message, trace)
            if held and retry_at is not None:
                self._retry_scheduled(retry_at)
        except Exception:
            logger.exception(
                "could not record the failure of delivery %d; it is retried when its lease "
                "runs out", delivery.id,
            )  # fmt: skip
            return
        if not held:
            logger.warning(
                "delivery %d to %s failed after another process took it over: %s",
                delivery.id, delivery.handler, message,
            )  # fmt: skip
        elif retry_at is None:
            logger.error(
                "delivery %d of %s to %s is dead after %d tries: %s",
                delivery.id, delivery.envelope.type, delivery.handler, delivery.attempts, message,
            )  # fmt: skip
        else:
            logger.warning(
                "delivery %d of %s to %s failed (try %d of %d), retrying in %.3f s: %s",
                delivery.id, delivery.envelope.type, delivery.handler, delivery.attempts,
                delivery.max_attempts, retry_at - now, message,
            )  # fmt: skip
