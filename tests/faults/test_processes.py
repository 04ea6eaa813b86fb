"""The worker SIGKILLed mid-task, beat restarted, an API process SIGKILLed, all under load."""

from __future__ import annotations

import re
import time

import pytest

from tests.faults.ledger import computations
from tests.faults.report import FaultResult
from tests.faults.scenario import Fault, run_fault
from tests.faults.stack import WINDOW_S, Stack

pytestmark = pytest.mark.e2e

TASK_LINE = re.compile(
    r"Task monitor\.compute_window\[([^\]]+)\] (received|succeeded|failed|retry)"
)


def computing(worker_log_text: str) -> set[str]:
    """The compute tasks the worker has received and not finished."""
    started, finished = set(), set()
    for task_id, what in TASK_LINE.findall(worker_log_text):
        (started if what == "received" else finished).add(task_id)
    return started - finished


def kill_mid_task(stack: Stack) -> None:
    worker, log = stack.processes["worker"], stack.logs / "worker.log"
    deadline = time.monotonic() + 120
    while not computing(log.read_text(errors="replace")):
        assert time.monotonic() < deadline, "no window computation seen in two minutes"
        time.sleep(0.01)
    worker.kill()


class Computing:
    """Whether the worker has finished a window since ``restart`` started the process again."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.process, self.log = stack.processes[name], stack.logs / "worker.log"
        self.done_before = 0

    def restart(self) -> None:
        self.process.start()
        self.done_before = sum(computations(self.log).values())

    def again(self, load: object, repaired_at: float) -> bool:
        return sum(computations(self.log).values()) > self.done_before


def test_the_worker_killed_mid_task_skips_no_window(
    stack: Stack, record: list[FaultResult]
) -> None:
    worker = Computing(stack, "worker")
    fault = Fault(
        "worker SIGKILLed mid-task, restarted 3 s later",
        inject=lambda: kill_mid_task(stack),
        repair=worker.restart,
        hold_s=3.0,
        recovered=worker.again,
    )
    outcome = run_fault(stack, fault)
    record.append(outcome)
    outcome.assert_nothing_lost()
    outcome.assert_monitor_whole()


def test_beat_restarted_skips_no_window_and_computes_none_twice(
    stack: Stack, record: list[FaultResult]
) -> None:
    beat = Computing(stack, "beat")
    fault = Fault(
        f"beat stopped {2 * WINDOW_S} s (two windows), restarted",
        inject=beat.process.stop,
        repair=beat.restart,
        hold_s=2.0 * WINDOW_S,
        recovered=beat.again,
    )
    outcome = run_fault(stack, fault)
    record.append(outcome)
    outcome.assert_nothing_lost()
    outcome.assert_monitor_whole()


def test_an_api_process_killed_under_load_loses_no_ticket(
    stack: Stack, record: list[FaultResult]
) -> None:
    api = stack.processes["api"]
    fault = Fault("API SIGKILLed, restarted 2 s later", inject=api.kill, repair=api.start, hold_s=2)
    outcome = run_fault(stack, fault)
    record.append(outcome)
    outcome.assert_nothing_lost()
    outcome.assert_monitor_whole()
