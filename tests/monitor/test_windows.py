from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.stats.windows import (
    Window,
    closed_window,
    format_duration,
    is_candidate_stream,
    n_bucket,
    parse_duration,
    parse_segment_kinds,
    parse_window_sizes,
    segment_kind,
    segment_value,
    segments_to_compute,
    stream_of,
    window_ending,
    windows_between,
)


def test_durations_parse_and_print_back() -> None:
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration(" 24H ") == timedelta(hours=24)
    assert [format_duration(s) for s in (45, 900, 3600, 86400, 90)] == [
        "45s",
        "15m",
        "1h",
        "1d",
        "90s",
    ]
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("15 minutes")


def test_window_sizes_are_sorted_distinct_and_not_tiny() -> None:
    assert parse_window_sizes("24h,15m,1h,60m") == [900, 3600, 86400]
    with pytest.raises(ValueError, match="at least"):
        parse_window_sizes("5s")


def test_windows_are_aligned_to_the_clock() -> None:
    at = datetime(2026, 3, 1, 10, 44, 59, tzinfo=UTC)
    window = closed_window(900, at)
    assert window.end == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    assert window.start == datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    assert closed_window(900, window.end) == window  # a boundary closes its own window
    assert closed_window(86400, at).end == datetime(2026, 3, 1, tzinfo=UTC)


def test_naive_and_other_zones_are_read_as_the_same_instant() -> None:
    naive = datetime(2026, 3, 1, 10, 44)
    assert closed_window(3600, naive).end == datetime(2026, 3, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="not the end"):
        window_ending(3600, datetime(2026, 3, 1, 10, 30, tzinfo=UTC))


def test_windows_between_cover_the_period_oldest_first() -> None:
    start = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    ends = [w.end.hour for w in windows_between(3600, start, start + timedelta(hours=3))]
    assert ends == [11, 12, 13]
    assert list(windows_between(3600, start, start)) == []


def test_segments() -> None:
    assert segment_kind("all") == "all" and segment_value("all") is None
    assert segment_kind("queue:card_orders") == "queue"
    assert segment_value("channel:email") == "email"
    assert segment_kind("tenant:acme") == "tenant" and segment_value("tenant:acme") == "acme"
    for bad in ("customer:x", "tenant:", "queue:", "cards"):
        with pytest.raises(ValueError):
            segment_kind(bad)
    assert parse_segment_kinds("") == ()
    with pytest.raises(ValueError, match="unknown segment kinds"):
        parse_segment_kinds("queue,colour")


def test_segments_to_compute_follow_the_setting() -> None:
    seen = [("cards", "P2", "web", "acme"), ("transfers", "P3", "web", ""), ("", "", "email", "")]
    assert segments_to_compute(seen, "channel") == ["all", "channel:email", "channel:web"]
    assert segments_to_compute(seen, "tenant") == ["all", "tenant:acme"]
    assert segments_to_compute(seen, "queue,priority") == [
        "all",
        "priority:P2",
        "priority:P3",
        "queue:cards",
        "queue:transfers",
    ]
    assert segments_to_compute([], "queue,priority,channel") == ["all"]
    # candidate streams are windows of their own whatever the setting
    assert segments_to_compute(seen, "", ["canary", "shadow"]) == [
        "all",
        "version:canary",
        "version:shadow",
    ]


def test_candidate_streams_are_segments_of_the_version_kind() -> None:
    assert segment_kind("version:canary") == "version" and is_candidate_stream("version:shadow")
    assert stream_of("version:canary") == "canary" and stream_of("queue:cards") == "production"
    assert stream_of("all") == "production" and not is_candidate_stream("all")
    for bad in ("version:production", "version:", "version:1.2.0"):
        with pytest.raises(ValueError):
            segment_kind(bad)


def test_buckets_grow_by_root_two_and_respect_the_floor() -> None:
    assert [n_bucket(n) for n in (1, 2, 3, 45, 46, 63, 64, 91, 1000)] == [
        1,
        2,
        2,
        32,
        45,
        45,
        64,
        90,
        724,
    ]
    assert all(n_bucket(n) <= n < n_bucket(n) * 1.5 for n in range(8, 5000))
    # windows of 50..63 tickets calibrate at 50, not 45, so signals needing 50 get a null
    assert n_bucket(60, floor=50) == 50 and n_bucket(47, floor=50) == 45
    assert n_bucket(64, floor=50) == 64


def test_window_label_names_size_and_end() -> None:
    window = Window(900, datetime(2026, 3, 1, 10, 30, tzinfo=UTC))
    assert window.label == "15m ending 2026-03-01T10:30:00+00:00"
