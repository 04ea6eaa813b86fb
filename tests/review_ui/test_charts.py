"""Server-side SVG charts: bands, drift points, alert markers, bars; text always escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from review_ui.charts import Marker, Point, line_chart, stacked_bars, tick_label

NS = {"s": "http://www.w3.org/2000/svg"}
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def classes(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def test_a_series_with_band_drift_points_and_an_alert_marker():
    points = [
        Point(T0 + timedelta(hours=h), v, flagged=v > 0.5)
        for h, v in enumerate([0.2, 0.3, 0.25, 0.7, 0.8])
    ]
    svg = parse(
        line_chart(
            points,
            label="entropy",
            threshold=0.5,
            markers=[Marker(T0 + timedelta(hours=3), "critical alert")],
        )
    )
    assert len(classes(svg, "dot")) == 5 and len(classes(svg, "drift")) == 2
    band = classes(svg, "band")[0]
    threshold_y = float(classes(svg, "threshold")[0].get("y1"))
    assert float(band.get("y")) == threshold_y  # the band ends at the threshold
    assert len(classes(svg, "marker")) == 1
    assert svg.find("s:title", NS).text == "entropy"


def test_a_decreasing_signal_shades_above_its_lower_threshold():
    points = [Point(T0 + timedelta(hours=h), v) for h, v in enumerate([0.9, 0.8, 0.4])]
    svg = parse(line_chart(points, label="accuracy", threshold=0.6, direction="decrease"))
    band = classes(svg, "band")[0]
    threshold_y = float(classes(svg, "threshold")[0].get("y1"))
    assert float(band.get("y")) + float(band.get("height")) == threshold_y


def test_gaps_break_the_line_and_labels_are_escaped():
    points = [
        Point(T0, 1.0),
        Point(T0 + timedelta(hours=1), None),
        Point(T0 + timedelta(hours=2), 2.0),
        Point(T0 + timedelta(hours=3), 3.0),
    ]
    markup = line_chart(
        points,
        label="<script>x</script>",
        markers=[Marker(T0 + timedelta(hours=2), "</title><script>")],
    )
    assert "<script>" not in str(markup)
    assert len(classes(parse(markup), "series")) == 1  # one segment of two points


def test_stacked_bars_add_up_per_bucket():
    buckets = [T0, T0 + timedelta(hours=1)]
    svg = parse(
        stacked_bars(buckets, {"agent": [3, 5], "kill_switch": [0, 2]}, label="v", bucket_s=3600)
    )
    bars = classes(svg, "bar")
    assert len(bars) == 3  # zero-height pieces are left out
    assert {b.get("class") for b in bars} == {"bar c1", "bar c2"}


def test_tick_labels_carry_the_decimals_their_step_needs():
    assert tick_label(0.0075, 0.0025) == "0.0075"
    assert tick_label(0.5, 0.25) == "0.50"
    assert tick_label(120.0, 40.0) == "120"
    assert tick_label(2500.0, 500.0) == "2.5k"
