"""Several deliveries of one handler in one transaction that commits once.

One transaction per delivery is what a handler that writes costs most (its BEGIN, COMMIT, a
connection from the pool, and on SQLite a turn at the write lock). A dispatcher given a
:data:`BatchRunner` hands it the deliveries of one handler claimed together: the runner
runs them one after the other in one transaction, records the completions of those that
succeeded in that transaction, and commits once. A failing one must undo its own effects and
nothing else, and is retried or goes dead alone: the app's runner runs the batch without
savepoints first, and again with a ``SAVEPOINT`` per delivery once one fails after running a
statement. Once-only effects hold as before: a delivery's effects and its completion commit
together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

from dolmen.events._records import Claimed

Outcome = bool | Exception
"""How one delivery of a batch went: True when it succeeded (its completion is recorded in
the batch's transaction), else the exception its handler raised."""

BatchRunner = Callable[[Sequence[Claimed]], Awaitable[Sequence[Outcome]]]
"""Runs a batch of one handler's deliveries (see the module's documentation).

It returns the outcomes of the deliveries it ran, in order, and may stop early (its time is
up): the dispatcher runs the others one by one. If it raises, nothing of the batch was
committed, and the dispatcher runs them all one by one."""

MOST_IN_A_BATCH = 50
"""Deliveries in one batch, at most. PostgreSQL keeps up to 64 subtransactions of a
transaction in shared memory; past that every snapshot of every session pays (the
"suboverflow"): a batch stays below."""

SLOW_DELIVERY_SECONDS = 0.005
"""A batch starts no further delivery once those after its first took longer than this each,
on average: a slow handler (one waiting on another service, say) then runs its other
deliveries side by side, one transaction each, and the batch's transaction (on SQLite, the
write lock) is not held while it waits."""


def batched(claimed: Sequence[Claimed], batchable: Collection[str]) -> list[list[Claimed]]:
    """``claimed`` in groups to run together: runs of one batchable handler, else alone."""
    groups: list[list[Claimed]] = []
    by_handler: dict[str, list[Claimed]] = {}
    for delivery in claimed:
        if delivery.handler not in batchable:
            groups.append([delivery])
            continue
        group = by_handler.get(delivery.handler)
        if group is None or len(group) >= MOST_IN_A_BATCH:
            group = by_handler[delivery.handler] = []
            groups.append(group)
        group.append(delivery)
    return groups
