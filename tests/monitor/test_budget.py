from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.stats.budget import ALL_SHARE, deployment_budget, segment_share, stream_budget
from monitor.stats.sequential import in_control_arl

DAY = 86400
KINDS = ("queue", "priority", "channel")
VOLUMES = {
    "queue:cards": 0.6,
    "queue:loans": 0.4,
    "priority:P2": 0.25,
    "priority:P3": 0.75,
    "channel:web": 0.5,
    "channel:email": 0.3,
    "channel:app": 0.2,
}
SIZES = [900, 3600, DAY]


def test_all_gets_half_and_the_rest_goes_by_volume_within_each_kind() -> None:
    assert segment_share("all", kinds=KINDS, volume=1.0) == 0.5
    assert segment_share("queue:cards", kinds=KINDS, volume=0.6) == pytest.approx(0.1)
    assert segment_share("channel:app", kinds=KINDS, volume=0.2) == pytest.approx(0.5 / 3 * 0.2)
    assert segment_share("channel:app", kinds=("queue",), volume=0.2) == 0.0
    assert segment_share("all", kinds=(), volume=1.0) == 1.0


def test_the_split_spends_exactly_one_false_alert_per_period() -> None:
    period = timedelta(days=30)
    streams = deployment_budget(volumes=VOLUMES, window_sizes=SIZES, kinds=KINDS, period=period)
    assert len(streams) == 8 * 3
    assert sum(s.share for s in streams) == pytest.approx(1.0)
    windows = {s.window_size_s: period.total_seconds() / s.window_size_s for s in streams}
    # expected false alerts per period: the window layer's alpha per window, the sequential
    # layer's one per ARL windows, the late labels' alpha per window and horizon (three)
    window_layer = sum(s.window_alpha * windows[s.window_size_s] for s in streams)
    sequential = sum(windows[s.window_size_s] / s.sequential_arl for s in streams)
    late = sum(s.late_label_alpha * 3 * windows[s.window_size_s] for s in streams)
    # a reference that errs past the CUSUM's allowance: one held-open alert per reference
    reference = sum(s.reference_tail for s in streams)
    assert window_layer == pytest.approx(0.4)
    assert sequential == pytest.approx(0.25)
    assert reference == pytest.approx(0.25)
    assert late == pytest.approx(0.1)


def test_the_reference_tail_is_split_across_the_tracks_as_the_arl_is() -> None:
    one, six = (
        stream_budget(
            segment="all",
            window_size_s=3600,
            window_sizes=SIZES,
            kinds=KINDS,
            volume=1.0,
            period=timedelta(days=30),
            tracks=tracks,
        )
        for tracks in (1, 6)
    )
    assert six.reference_tail == pytest.approx(one.reference_tail / 6)
    assert in_control_arl(six.sequential_threshold) == pytest.approx(6 * one.sequential_arl)


def test_one_stream_of_known_values() -> None:
    b = stream_budget(
        segment="all",
        window_size_s=3600,
        window_sizes=SIZES,
        kinds=KINDS,
        volume=1.0,
        period=timedelta(days=30),
    )
    assert b.share == pytest.approx(1 / 6)
    assert b.window_alpha == pytest.approx(0.4 * (1 / 6) / 720)  # 9.3e-5
    assert b.late_label_alpha == pytest.approx(0.1 * (1 / 6) / (720 * 3))  # 7.7e-6
    assert b.sequential_arl == pytest.approx(720 / (0.25 / 6))  # 17,280 windows
    assert in_control_arl(b.sequential_threshold) == pytest.approx(17280)
    assert b.reference_tail == pytest.approx(0.25 / 6)  # 0.042 per reference


def test_a_segment_the_reference_never_saw_gets_no_budget() -> None:
    b = stream_budget(
        segment="channel:fax",
        window_size_s=3600,
        window_sizes=[3600],
        kinds=KINDS,
        volume=0.0,
        period=timedelta(days=30),
    )
    assert b.share == 0.0 and b.window_alpha == 0.0 and b.sequential_arl == float("inf")
    assert b.late_label_alpha == 0.0 and b.reference_tail == 0.0


def test_a_candidate_stream_has_its_own_budget_like_all() -> None:
    for stream in ("version:canary", "version:shadow"):
        assert segment_share(stream, kinds=("queue",), volume=0.0) == ALL_SHARE
        assert segment_share(stream, kinds=(), volume=0.0) == 1.0
