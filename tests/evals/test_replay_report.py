"""The report from a finished replay: table, JSON (no NaN), plots, the index of scenarios."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evals.replay.peers import EVIDENTLY_DEFAULT, KS_PROBS, PeerVerdict
from evals.replay.report import markdown_table, summary, write_index, write_scenario_report
from evals.replay.runner import ReplayResult, score_all
from evals.replay.scenario import parse_scenario
from evals.replay.stream import REFERENCE, Stream, WindowSpec
from evals.replay.verdicts import CompositeVerdict, SignalPoint, WindowRecord

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def result(name: str, *, caught_at: int | None, score_nan_at: int = -1) -> ReplayResult:
    scenario = parse_scenario(
        {
            "name": name,
            "description": "synthetic",
            "dataset": {"name": "banking77"},
            "reference": {"windows": 2},
            "phases": [
                {"name": "calm", "kind": "stationary", "windows": 3},
                {
                    "name": "wave",
                    "kind": "gradual_mix",
                    "windows": 3,
                    "queue_weights": {"transfers": 3},
                },
            ],
        }
    )
    kinds = [(REFERENCE, "stationary")] * 2 + [("calm", "stationary")] * 3
    kinds += [("wave", "gradual_mix")] * 3
    windows = [
        WindowSpec(i, T0 + timedelta(hours=i), T0 + timedelta(hours=i + 1), p, k, 100)
        for i, (p, k) in enumerate(kinds)
    ]
    records = []
    for w in windows[2:]:
        hit = caught_at is not None and w.index >= caught_at
        verdict = CompositeVerdict(
            severity="critical" if hit else "none",
            score=math.nan if w.index == score_nan_at else (60.0 if hit else 8.0),
            warning_threshold=28.0,
            critical_threshold=36.0,
            alert_open=hit,
            events=["opened:critical"] if w.index == caught_at else [],
            what_moved="label_mix" if hit else "none",
            summary="label-mix shift" if hit else "no signal group moved",
            top_signals=["prediction_mix"] if hit else [],
            signals={
                "prediction_mix": SignalPoint(0.3 if hit else 0.1, 0.2, None, hit, False),
                "entropy": SignalPoint(0.05, 0.08, 0.03, False, False),
            },
            insufficient=False,
        )
        peers = [
            PeerVerdict(KS_PROBS, 1e-6 if w.index == 6 else 0.5, w.index == 6, {}),
            PeerVerdict(EVIDENTLY_DEFAULT, 0.6, w.index == 3, {}),
        ]
        records.append(WindowRecord(w, verdict, peers, reviews={"confirmed": 9}))
    stream = Stream(windows, [])
    return ReplayResult(scenario, stream, records, score_all(stream, records), {"alpha": 0.001})


def test_the_table_gives_each_detector_its_delay_and_false_alarms() -> None:
    r = result("wave", caught_at=5)
    table = markdown_table([summary(r)])
    row = table.splitlines()[2]
    assert row.startswith("| wave | wave | 1 window (100 tickets) | missed | 2 windows (200")
    assert row.endswith("| 0 / 1 / 0 (of 3) |")


def test_a_scenario_report_and_the_index_of_several(tmp_path: Path) -> None:
    write_scenario_report(result("first", caught_at=6, score_nan_at=3), tmp_path / "first")
    write_scenario_report(result("second", caught_at=None), tmp_path / "second")
    summaries = write_index(tmp_path)
    assert [s["scenario"] for s in summaries] == ["first", "second"]
    data = json.loads((tmp_path / "first" / "summary.json").read_text())
    assert data["windows"][1]["composite"]["score"] is None  # NaN is not JSON
    assert data["what_moved"] == [
        {
            "phase": "wave",
            "what_moved": "label_mix",
            "summary": "label-mix shift",
            "top_signals": ["prediction_mix"],
        }
    ]
    results = (tmp_path / "results.md").read_text()
    assert "| first | wave | 2 windows (200 tickets)" in results
    assert "| second | wave | missed |" in results
    page = (tmp_path / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    for name in ("timeline.png", "signals.png"):
        assert (tmp_path / "second" / name).read_bytes()[:4] == b"\x89PNG"


def _with_streams(r: ReplayResult) -> ReplayResult:
    """The same replay where a channel stream false-alarms in calm window 3 and a daily stream
    (computed once, in window 4) is quiet; 15-minute windows are insufficient."""
    from dataclasses import replace

    from evals.replay.runner import stream_scores
    from evals.replay.verdicts import StreamVerdict

    records = []
    for rec in r.records:
        c = rec.composite
        assert c is not None
        i = rec.window.index
        end = rec.window.end.isoformat()
        streams = [
            StreamVerdict("all", 3600, end, c.severity, False, c.opened, c.alert_open),
            StreamVerdict("channel:app", 3600, end, "none", False, i == 3, 3 <= i <= 4),
            StreamVerdict("all", 900, end, "none", True, False, False),
        ]
        if i == 4:
            streams.append(StreamVerdict("all", 86400, end, "none", False, False, False))
        records.append(replace(rec, composite=replace(c, streams=streams)))
    return replace(
        r,
        records=records,
        scores=score_all(r.stream, records),
        stream_scores=stream_scores(r.stream, records),
    )


def test_every_segment_and_window_size_counts_and_each_gets_a_verdict() -> None:
    r = _with_streams(result("wave", caught_at=6))
    composite = r.score_of("composite")
    assert composite.false_alarms == 1  # channel:app's calm alert, though `all` stayed quiet
    assert composite.detections[0].delay_windows == 2  # window 6, as `all` alone
    names = [s.detector for s in r.stream_scores]
    assert names == ["all @ 1h", "all @ 1d", "channel:app @ 1h"]  # 15m: never sufficient
    by_name = {s.detector: s for s in r.stream_scores}
    assert by_name["channel:app @ 1h"].false_alarms == 1
    assert by_name["channel:app @ 1h"].detections[0].missed
    assert by_name["all @ 1h"].false_alarms == 0
    table = markdown_table([summary(r)])
    assert "| wave | channel:app @ 1h | wave: missed | 1 (of 3) |" in table


def test_a_late_label_alert_on_a_past_window_counts_as_the_streams_false_alarm() -> None:
    from dataclasses import replace

    from evals.replay.runner import late_label_counts, stream_scores
    from evals.replay.verdicts import StreamVerdict

    base = result("wave", caught_at=6)
    records = []
    for rec in base.records:
        c = rec.composite
        assert c is not None
        i = rec.window.index
        end = rec.window.end.isoformat()
        streams = [StreamVerdict("all", 3600, end, c.severity, False, c.opened, c.alert_open)]
        if i >= 3:  # a past window re-judged on its late labels (calm window 3 alarms)
            past = base.records[i - 3].window.end.isoformat()
            late = StreamVerdict(
                "queue:cards",
                3600,
                past,
                "warning" if i == 3 else "none",
                i == 4,
                i == 3,
                i >= 3,
                horizon="1h",
            )
            streams.append(late)
        records.append(replace(rec, composite=replace(c, streams=streams)))
    r = replace(
        base,
        records=records,
        scores=score_all(base.stream, records),
        stream_scores=stream_scores(base.stream, records),
    )
    assert r.score_of("composite").false_alarms == 1  # opened in calm window 3
    cards = next(s for s in r.stream_scores if s.detector == "queue:cards @ 1h")
    assert cards.false_alarms == 1
    # windows 3-7 re-judge one past window each; window 4's had too few labels
    assert late_label_counts(records) == {
        "rejudged": 5,
        "with_enough_labels": 4,
        "alerts_opened": 1,
    }
