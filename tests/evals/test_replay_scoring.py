"""Detection delay and false alarms: pure scoring of alarm sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evals.replay.scoring import Detection, calm_windows, delay_text, onsets, score
from evals.replay.stream import REFERENCE, WindowSpec

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def windows(*phases: tuple[str, str, int], reference: int = 2, n: int = 100) -> list[WindowSpec]:
    out: list[WindowSpec] = []
    for phase, kind, count in [(REFERENCE, "stationary", reference), *phases]:
        for _ in range(count):
            i = len(out)
            start = T0 + timedelta(hours=i)
            out.append(WindowSpec(i, start, start + timedelta(hours=1), phase, kind, n + i))
    return out


def alarms(*indices: int) -> dict[int, bool]:
    return dict.fromkeys(indices, True)


WS = windows(("calm", "stationary", 4), ("launch", "new_product", 4), ("after", "stationary", 3))


def test_onsets_and_calm_windows() -> None:
    assert [w.index for w in onsets(WS)] == [6]
    assert [w.index for w in calm_windows(WS)] == [2, 3, 4, 5]
    stationary_only = windows(("calm", "stationary", 5))
    assert len(calm_windows(stationary_only)) == 5 and onsets(stationary_only) == []


def test_an_alarm_in_the_onset_window_is_a_delay_of_one_window() -> None:
    s = score("d", WS, alarms(6, 7))
    (d,) = s.detections
    assert (d.detected_window, d.delay_windows, d.delay_tickets) == (6, 1, 106)
    assert s.false_alarms == 0 and s.calm_windows == 4


def test_the_delay_counts_windows_and_tickets_from_the_onset() -> None:
    (d,) = score("d", WS, alarms(8)).detections
    assert (d.delay_windows, d.delay_tickets) == (3, 106 + 107 + 108)
    assert delay_text(d) == "3 windows (321 tickets)"


def test_a_drift_never_alarmed_within_its_phase_is_missed() -> None:
    (d,) = score("d", WS, alarms(10)).detections
    assert d.missed and delay_text(d) == "missed"


def test_false_alarms_are_calm_alarms_and_recovery_is_counted_apart() -> None:
    s = score("d", WS, alarms(3, 4, 6, 10))
    assert s.false_alarms == 2 and s.flagged_calm_windows == 2
    assert s.recovery_alarms == 1


def test_the_composite_counts_alerts_opened_not_windows_with_an_open_alert() -> None:
    open_windows = alarms(3, 4, 5, 6)
    opened = alarms(3)
    s = score("composite", WS, open_windows, opened=opened)
    assert s.false_alarms == 1 and s.flagged_calm_windows == 3
    assert s.detections[0].delay_windows == 1


def test_each_drift_phase_is_scored_on_its_own() -> None:
    ws = windows(
        ("calm", "stationary", 2),
        ("burst", "outage_burst", 2),
        ("mid", "stationary", 2),
        ("rules", "priority_redefinition", 3),
    )
    s = score("d", ws, alarms(5, 9))
    by_phase = {d.phase: d for d in s.detections}
    assert by_phase["burst"].delay_windows == 2
    assert by_phase["rules"].delay_windows == 2
    assert s.to_json()["detections"][0]["phase"] == "burst"
    assert Detection("x", "k", 1, None, None, None).missed
