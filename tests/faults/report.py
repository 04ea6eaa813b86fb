"""One fault's figures, and the table of them all (``pytest tests/faults --fault-table F``)."""

from __future__ import annotations

import os
import platform
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.faults.ledger import Tickets
from tests.faults.load import Submission


@dataclass(frozen=True)
class FaultResult:
    fault: str
    sent: int
    accepted: int
    one_decision: int  # accepted tickets with exactly one final decision
    duplicates: int  # ticket rows or final decisions beyond one per (source, external_id)
    lost: int  # accepted tickets without exactly one final decision
    unanswered: int  # tickets the client gave up on (never a 201/200)
    refusals: str  # what the client saw besides 201/200, e.g. "503 x12, ConnectError x3"
    server_errors: int  # 500s: a bug, never an expected answer
    windows: int  # monitor windows holding the tickets
    skipped: int
    computed_twice: int
    recovery_s: float | None
    longest_wait_s: float  # the longest a ticket took from first send to its answer
    modes: str  # the final decisions by mode
    restarted: tuple[str, ...]  # processes that exited on their own, started again after repair

    def assert_nothing_lost(self) -> None:
        assert self.unanswered == 0, self
        assert self.accepted == self.sent, self
        assert self.lost == 0, self
        assert self.duplicates == 0, self
        assert self.one_decision == self.accepted, self
        assert self.server_errors == 0, self

    def assert_monitor_whole(self, *, may_exit: tuple[str, ...] = ()) -> None:
        """No window skipped or computed twice; no process exited but those in ``may_exit``."""
        assert self.skipped == 0, self
        assert self.computed_twice == 0, self
        assert set(self.restarted) <= set(may_exit), self


def result(
    fault: str,
    sent: list[Submission],
    found: Tickets,
    *,
    windows: int,
    skipped: int,
    computed_twice: int,
    recovery_s: float | None,
    restarted: list[str],
) -> FaultResult:
    accepted = [s for s in sent if s.accepted]
    seen: Counter[str] = Counter(
        str(status) for s in sent for status in s.statuses if status not in (200, 201)
    )
    extra_rows = sum(n - 1 for n in found.rows.values() if n > 1)
    extra_finals = sum(n - 1 for n in found.finals.values() if n > 1)
    one = sum(1 for s in accepted if found.finals.get(s.external_id) == 1)
    return FaultResult(
        fault=fault,
        sent=len(sent),
        accepted=len(accepted),
        one_decision=one,
        duplicates=extra_rows + extra_finals,
        lost=len(accepted) - one,
        unanswered=len(sent) - len(accepted),
        refusals=", ".join(f"{k} x{v}" for k, v in seen.most_common()) or "none",
        server_errors=seen.get("500", 0),
        windows=windows,
        skipped=skipped,
        computed_twice=computed_twice,
        recovery_s=recovery_s,
        longest_wait_s=max(((s.answered_at or 0) - s.sent_at for s in accepted), default=0.0),
        modes=", ".join(f"{k} {v}" for k, v in sorted(found.modes.items())),
        restarted=tuple(restarted),
    )


HEADER = (
    "| fault | sent | accepted | exactly one final decision | duplicates | lost | "
    "windows (skipped / twice) | recovery s | longest wait s | client saw | final modes | "
    "exited on their own |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def row(r: FaultResult) -> str:
    recovery = f"{r.recovery_s:.1f}" if r.recovery_s is not None else "-"
    return (
        f"| {r.fault} | {r.sent} | {r.accepted} | {r.one_decision} | {r.duplicates} | {r.lost} | "
        f"{r.windows} ({r.skipped} / {r.computed_twice}) | {recovery} | {r.longest_wait_s:.1f} | "
        f"{r.refusals} | {r.modes} | {', '.join(r.restarted) or 'none'} |"
    )


def table(results: list[FaultResult]) -> str:
    load = os.getloadavg()
    note = (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'a host'} "
        f"({os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "at the end)\n\n"
    )
    return note + HEADER + "\n".join(row(r) for r in results) + "\n"
