"""The registry of scenario phase kinds: one registration per kind, names derived from it."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pytest

from agent.datasets.records import LabelledTicket
from evals.replay.kinds import Draw, PhaseBase, all_kinds, drift_kinds, get_kind, kinds_help
from evals.replay.kinds import base as kinds_base
from evals.replay.scenario import ScenarioError, parse_scenario
from evals.replay.stream import Source


def scenario(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": "k",
        "dataset": {"name": "banking77"},
        "phases": [{"name": "p", "kind": kind, "windows": 1, **fields}],
    }


def test_an_unknown_kind_fails_loading_and_names_the_known_ones() -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(scenario("earthquake"), source="quake.yaml")
    message = str(err.value)
    assert "quake.yaml" in message and "phases.0" in message and "'earthquake'" in message
    assert all(f"'{name}'" in message for name in all_kinds())


def test_every_pool_kind_draws_its_own_tickets() -> None:
    """No kind falls back to calm traffic: each pool kind's model defines ``tickets``."""
    for spec in all_kinds().values():
        defines = spec.model.tickets is not PhaseBase.tickets
        assert defines == ("pool" in spec.modes), spec.name


def test_drift_and_mode_lists_come_from_the_registry() -> None:
    assert set(drift_kinds()) == {k for k, s in all_kinds().items() if s.drift}
    assert "stationary" not in drift_kinds() and "drift" in drift_kinds()
    assert "recorded mode: stationary, drift" in kinds_help()
    assert get_kind("outage_burst").modes == ("pool",)
    with pytest.raises(KeyError, match="no phase kind 'earthquake'"):
        get_kind("earthquake")


def test_a_pool_kind_without_tickets_is_refused_at_registration() -> None:
    with pytest.raises(TypeError, match="defines no tickets"):

        @kinds_base.register("lull_without_tickets", drift=True)
        class Lull(PhaseBase):
            kind: Literal["lull_without_tickets"]

    assert "lull_without_tickets" not in all_kinds()


def test_a_kind_literal_must_match_its_registered_name() -> None:
    with pytest.raises(TypeError, match="must be Literal"):

        @kinds_base.register("mismatch", drift=False)
        class Mismatch(PhaseBase):
            kind: Literal["something_else"]

            def tickets(self, draw: Draw) -> list[tuple[LabelledTicket, str | None]]:
                return []

    assert "mismatch" not in all_kinds()


def test_a_registered_kind_is_listed_and_draws_its_tickets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a new module does: register a model with ``tickets``; here on a private copy of
    the registry, so that the real one is untouched."""
    monkeypatch.setattr(kinds_base, "_REGISTRY", dict(kinds_base._REGISTRY))

    @kinds_base.register("half_volume", drift=True)
    class HalfVolume(PhaseBase):
        kind: Literal["half_volume"]

        def tickets(self, draw: Draw) -> list[tuple[LabelledTicket, str | None]]:
            return [(r, "halved") for r in draw.calm.draw(draw.n // 2)]

    assert "half_volume" in drift_kinds() and "half_volume" in kinds_help()
    records = [LabelledTicket(text=f"t{i}", queue="cards", priority="P3") for i in range(10)]
    rng = np.random.default_rng(0)
    phase = HalfVolume(kind="half_volume", name="h", windows=1)
    drawn = phase.tickets(Draw(8, 1.0, Source(records, rng), Source([], rng), rng))
    assert len(drawn) == 4 and {a for _, a in drawn} == {"halved"}


def test_a_calm_kind_is_scored_as_calm_not_as_a_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    """Which windows are drift onsets and which are calm comes from each kind's ``drift`` flag,
    not from the name ``stationary``: a new calm kind needs no edit to scoring."""
    from datetime import UTC, datetime, timedelta

    from evals.replay.scoring import calm_windows, onsets, score
    from evals.replay.stream import REFERENCE, WindowSpec

    monkeypatch.setattr(kinds_base, "_REGISTRY", dict(kinds_base._REGISTRY))

    @kinds_base.register("weekend_lull", drift=False)
    class WeekendLull(PhaseBase):
        kind: Literal["weekend_lull"]

        def tickets(self, draw: Draw) -> list[tuple[LabelledTicket, str | None]]:
            return [(r, None) for r in draw.calm.draw(draw.n // 2)]

    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    kinds = [(REFERENCE, "stationary")] * 2 + [("lull", "weekend_lull")] * 3
    kinds += [("launch", "new_product")] * 2 + [("lull2", "weekend_lull")] * 2
    windows = [
        WindowSpec(i, t0 + timedelta(hours=i), t0 + timedelta(hours=i + 1), phase, kind, 100)
        for i, (phase, kind) in enumerate(kinds)
    ]
    assert [w.index for w in onsets(windows)] == [5]
    assert [w.index for w in calm_windows(windows)] == [2, 3, 4]
    scored = score("d", windows, {3: True, 5: True, 8: True})
    assert (scored.calm_windows, scored.false_alarms, scored.recovery_alarms) == (3, 1, 1)
