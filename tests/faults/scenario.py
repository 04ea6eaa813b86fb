"""One fault under steady load: steady state, the fault, the repair, recovery, the figures."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from tests.e2e.processes import tail
from tests.faults.ledger import computations, settle, wait_for_windows
from tests.faults.load import SteadyLoad
from tests.faults.report import FaultResult, result
from tests.faults.stack import Stack

RATE = 3.0  # tickets a second
STEADY = 6  # tickets answered before the fault and again after recovery


@dataclass
class Fault:
    """``inject`` breaks something; ``hold_s`` later ``repair`` mends it. ``recovered(t)``
    says whether the system is whole again after the repair at ``t`` (monotonic); by default,
    a ticket was answered after it."""

    name: str
    inject: Callable[[], None]
    repair: Callable[[], None]
    hold_s: float = 5.0
    recovered: Callable[[SteadyLoad, float], bool] | None = None


def wait_until(
    what: str,
    check: Callable[[], bool],
    timeout_s: float,
    stack: Stack,
    load: SteadyLoad,
    *,
    supervise: bool = True,
) -> None:
    """Poll ``check``; with ``supervise`` (after the repair), restart what exited meanwhile."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            seen = Counter(str(x) for s in list(load.submissions) for x in s.statuses)
            logs = "\n".join(f"--- {p.name}\n{tail(p, 2500)}" for p in stack.logs.glob("*.log"))
            raise AssertionError(
                f"timed out after {timeout_s}s waiting for {what}; the client saw {dict(seen)}"
                f"\n{logs}"
            )
        if supervise:
            stack.supervise()
        time.sleep(0.1)


def run_fault(stack: Stack, fault: Fault, *, rate: float = RATE) -> FaultResult:
    stack.wait_ready()
    source = f"faults-{uuid.uuid4().hex[:12]}"
    load = SteadyLoad(stack.api_url, stack.setup.api_key, source=source, rate=rate).start()
    try:
        steady = lambda: len(load.answered_since(0)) >= STEADY  # noqa: E731
        wait_until("a steady state", steady, 120, stack, load, supervise=False)
        fault.inject()
        time.sleep(fault.hold_s)  # the outage's length: the fault under test, not a wait
        repaired = time.monotonic()  # recovery counts from the start of the repair
        fault.repair()
        del stack.restarted[:]
        stack.supervise()
        recovered = fault.recovered or (lambda lo, t: bool(lo.answered_since(t)))
        wait_until("recovery", lambda: recovered(load, repaired), 180, stack, load)
        recovery_s = time.monotonic() - repaired
        again = time.monotonic()
        wait_until(
            "tickets after recovery",
            lambda: len(load.answered_since(again)) >= STEADY,
            120,
            stack,
            load,
        )
    finally:
        sent = load.stop()
    found = settle(stack.database_url, source, sent, tick=stack.supervise)
    skipped = wait_for_windows(stack.database_url, found.windows, tick=stack.supervise)
    counts = computations(stack.logs / "worker.log")
    return result(
        fault.name,
        sent,
        found,
        windows=len(found.windows),
        skipped=len(skipped),
        computed_twice=sum(1 for end in found.windows if counts[end] > 1),
        recovery_s=recovery_s,
        restarted=sorted(set(stack.restarted)),
    )
