"""Scenario files: a dataset, a simulated clock, a reference period and phases of traffic.

A scenario is YAML (see docs/replay.md). In ``pool`` mode the tickets of each phase are drawn
from a labelled pool (Banking77, or a team's CSV/JSONL) and shaped by the phase's kind; in
``recorded`` mode a team's own tickets are replayed at their recorded timestamps and the
phases only say which periods were calm and which drifted. Parsing validates everything that
does not need the data; :mod:`evals.replay.pools` checks the rest (intents, queues) against it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.datasets.mapping import ExportFormat, export_format
from evals.replay.kinds import PhaseBase, drift_kinds, kinds_for, phase_union

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|hours|d|day|days)\s*$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "hours": 3600}
_UNIT_SECONDS |= {"d": 86400, "day": 86400, "days": 86400}
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ScenarioError(ValueError):
    """A scenario file that cannot be replayed; the message names the file and each problem."""


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """``"1h"``, ``"15min"``, ``"2d"``, or seconds, as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a duration (write e.g. 15min, 1h, 1d)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Strict):
    """Where tickets come from: ``name: banking77`` or ``file:`` a labelled CSV/JSONL."""

    name: Literal["banking77"] | None = None
    file: Path | None = None
    taxonomy: str = "banking77"
    # A helpdesk's CSV export as the file: as ``--map``, ``--preset``, ``--priority-map`` and
    # ``--timezone`` of load-history (docs/own-data.md).
    column_map: str | None = Field(default=None, alias="map")
    preset: str | None = None
    priority_map: str | None = None
    timezone: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.name is None) == (self.file is None):
            raise ValueError("give exactly one of dataset.name (banking77) or dataset.file")
        export = self.export()  # a wrong map or preset fails here, naming the field
        if self.file is None and export is not None:
            raise ValueError("dataset.map, preset, priority_map and timezone need dataset.file")
        return self

    def export(self) -> ExportFormat | None:
        """How to read ``file`` (None: a plain labelled file); ``ExportFormatError`` if the
        options are wrong."""
        return export_format(
            column_map=self.column_map,
            preset=self.preset,
            priority_map=self.priority_map,
            timezone=self.timezone,
        )


class ClockSpec(_Strict):
    """The simulated clock: when the reference period starts, and the monitor's window size."""

    start: AwareDatetime = DEFAULT_START
    window: timedelta = timedelta(hours=1)

    @field_validator("window", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)

    @field_validator("window")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v < timedelta(minutes=1):
            raise ValueError("the window must be at least 1 minute")
        return v

    @model_validator(mode="after")
    def _on_grid(self) -> ClockSpec:
        # The monitor's windows end on multiples of their size since the epoch (UTC).
        offset = (self.start - EPOCH).total_seconds() % self.window.total_seconds()
        if offset:
            raise ValueError(
                f"start {self.start.isoformat()} is not on the {self.window} window grid "
                "(windows end on multiples of their size since 1970-01-01 UTC)"
            )
        return self


class HistorySpec(_Strict):
    """Pool mode: the share of the pool loaded as history (the agent's neighbours), and
    intents held out of history, reference and calm traffic (a product not launched yet).
    Recorded mode: tickets before ``until`` are history."""

    share: float = Field(default=0.4, gt=0, lt=1)
    hold_out_intents: list[str] = Field(default_factory=list)
    until: AwareDatetime | None = None


class ReferenceSpec(_Strict):
    """The reference period: the first ``windows`` windows of the clock (pool mode), or
    ``windows`` windows from ``from`` (recorded mode; default: where history ends)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    windows: int = Field(default=12, ge=1)
    start: AwareDatetime | None = Field(default=None, alias="from")


class ReviewersSpec(_Strict):
    """Simulated reviewers: ``share`` of confident decisions is sampled into the review queue
    (the API's review sample rate); decisions the agent flags are always queued. Reviewers
    work ``coverage`` of the queue, confirming right routes and overriding wrong ones with
    the true label."""

    share: float = Field(default=0.1, ge=0, le=1)
    coverage: float = Field(default=1.0, gt=0, le=1)


class OutcomesSpec(_Strict):
    """Helpdesk outcomes (``POST /v1/outcomes``) for ``share`` of tickets, ``delay_windows``
    windows after they arrived. Off by default: then only reviewers reveal true labels."""

    share: float = Field(default=0.0, ge=0, le=1)
    delay_windows: int = Field(default=1, ge=0)


if TYPE_CHECKING:
    Phase = PhaseBase
else:
    Phase = phase_union()


class Scenario(_Strict):
    """A replayable scenario (see the module docstring and docs/replay.md)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=80)
    description: str = ""
    mode: Literal["pool", "recorded"] = "pool"
    seed: int = 0
    dataset: DatasetSpec
    clock: ClockSpec = ClockSpec()
    tickets_per_window: int = Field(default=150, ge=10, le=20_000)
    history: HistorySpec = HistorySpec()
    reference: ReferenceSpec = ReferenceSpec()
    reviewers: ReviewersSpec = ReviewersSpec()
    outcomes: OutcomesSpec = OutcomesSpec()
    phases: list[Phase] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError("phase names must be unique")
        if self.mode == "pool":
            self._check_pool()
        else:
            self._check_recorded()
        return self

    def _check_pool(self) -> None:
        missing = [p.name for p in self.phases if p.windows is None]
        if missing:
            raise ValueError(f"pool mode: phases {missing} need `windows`")
        if any(p.until is not None for p in self.phases):
            raise ValueError("pool mode: phases take `windows`, not `until`")
        recorded_only = sorted({p.kind for p in self.phases} - set(kinds_for("pool")))
        if recorded_only:
            raise ValueError(
                f"pool mode: kinds {recorded_only} are for recorded mode; pool mode takes "
                + ", ".join(kinds_for("pool"))
            )
        held = set(self.history.hold_out_intents)
        for p in self.phases:
            extra = sorted(p.held_out_intents() - held)
            if extra:
                raise ValueError(f"phase {p.name}: intents {extra} are not in hold_out_intents")

    def _check_recorded(self) -> None:
        if self.dataset.file is None:
            raise ValueError("recorded mode replays a team's file: set dataset.file")
        if self.history.until is None:
            raise ValueError("recorded mode: set history.until (tickets before it are history)")
        allowed = kinds_for("recorded")
        if any(p.kind not in allowed for p in self.phases):
            raise ValueError("recorded mode: phases are " + " or ".join(f"`{k}`" for k in allowed))
        if any(p.until is None for p in self.phases):
            raise ValueError("recorded mode: every phase needs `until`")
        start = self.reference.start or self.history.until
        assert start is not None
        if (start - EPOCH).total_seconds() % self.clock.window.total_seconds():
            raise ValueError(
                f"recorded mode: the reference starts at {start.isoformat()}, not on the "
                f"{self.clock.window} window grid (set reference.from)"
            )
        ends = [p.until for p in self.phases if p.until is not None]
        if ends != sorted(ends) or len(set(ends)) != len(ends):
            raise ValueError("recorded mode: phase `until` times must increase")

    @property
    def drift_phases(self) -> list[str]:
        return [p.name for p in self.phases if p.kind in drift_kinds()]


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; a relative dataset.file is relative to it."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: expected a mapping at the top level")
    dataset = raw.get("dataset")
    if isinstance(dataset, dict) and isinstance(dataset.get("file"), str):
        file = Path(dataset["file"])
        raw = {**raw, "dataset": {**dataset, "file": str(path.parent / file)}}
    return parse_scenario(raw, source=str(path))


def parse_scenario(raw: dict[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a mapping; errors name each offending field."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ScenarioError(f"{source}: invalid scenario\n" + "\n".join(lines)) from None
