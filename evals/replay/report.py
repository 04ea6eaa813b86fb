"""The replay report: per scenario a directory with summary.json, table.md, PNG plots and a
self-contained index.html; and at the top of the report directory an index of every scenario
found there, with the comparison table (index.html, results.md, results.json)."""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.replay import peers, plots
from evals.replay.runner import COMPOSITE, ReplayResult
from evals.replay.scoring import Detection, delay_text

DETECTORS = (
    (COMPOSITE, "composite (ticketwatch, every segment and window size)"),
    (peers.EVIDENTLY_DEFAULT, "Evidently default (embeddings)"),
    (peers.KS_PROBS, "KS on probabilities"),
)
SUMMARY = "summary.json"
HEADER = [
    "scenario",
    "drift phase",
    *(label for _, label in DETECTORS),
    "false alarms composite / Evidently / KS (calm windows)",
]


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def summary(result: ReplayResult) -> dict[str, Any]:
    """Everything the report shows, as JSON (also what the top index is built from)."""
    records = {r.window.index: r for r in result.records}
    moved = []
    composite = next((s for s in result.scores if s.detector == COMPOSITE), None)
    for d in composite.detections if composite else []:
        record = records.get(d.detected_window) if d.detected_window is not None else None
        verdict = record.composite if record else None
        moved.append(
            {
                "phase": d.phase,
                "what_moved": verdict.what_moved if verdict else None,
                "summary": verdict.summary if verdict else None,
                "top_signals": verdict.top_signals if verdict else [],
            }
        )
    return finite(
        {
            "scenario": result.scenario.name,
            "description": result.scenario.description,
            "seed": result.scenario.seed,
            "window": str(result.scenario.clock.window),
            "tickets_per_window": result.scenario.tickets_per_window,
            "meta": result.meta,
            "timings": result.timings,
            "scores": [s.to_json() for s in result.scores],
            "streams": [s.to_json() for s in result.stream_scores],
            "what_moved": moved,
            "windows": [r.to_json() for r in result.records],
        }
    )


def table_rows(summaries: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One row per (scenario, drift phase); stationary-only scenarios get one row of '-'."""
    rows = []
    for s in summaries:
        scores = {x["detector"]: x for x in s["scores"]}
        composite = scores.get(COMPOSITE)
        phases = [d["phase"] for d in composite["detections"]] if composite else []
        calm = composite["calm_windows"] if composite else 0
        false_alarms = " / ".join(
            str(scores[name]["false_alarms"]) if name in scores else "n/a" for name, _ in DETECTORS
        )
        for phase in phases or ["-"]:
            cells = [s["scenario"], phase]
            for name, _ in DETECTORS:
                found = next(
                    (d for d in scores.get(name, {}).get("detections", []) if d["phase"] == phase),
                    None,
                )
                cells.append(_delay(found) if found else "-")
            cells += [f"{false_alarms} (of {calm})"]
            rows.append(cells)
    return rows


def _delay(d: dict[str, Any]) -> str:
    return delay_text(Detection(**d))


STREAM_HEADER = ["scenario", "stream (segment @ window)", "drift phases", "false alarms (calm)"]


def stream_rows(summaries: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Per-segment verdicts: one row per scenario and stream judged with enough tickets."""
    rows = []
    for s in summaries:
        for x in s.get("streams", []):
            phases = "; ".join(f"{d['phase']}: {_delay(d)}" for d in x["detections"]) or "-"
            alarms = f"{x['false_alarms']} (of {x['calm_windows']})"
            rows.append([s["scenario"], x["detector"], phases, alarms])
    return rows


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(row) + " |" for row in rows
    ]


def markdown_table(summaries: Sequence[dict[str, Any]]) -> str:
    lines = _markdown(HEADER, table_rows(summaries))
    streams = stream_rows(summaries)
    if streams:
        lines += ["", "Per segment and window size:", "", *_markdown(STREAM_HEADER, streams)]
    return "\n".join(lines) + "\n"


def _html_table(summaries: Sequence[dict[str, Any]]) -> str:
    out = _html(HEADER, table_rows(summaries))
    streams = stream_rows(summaries)
    if streams:
        out += "<h2>Per segment and window size</h2>" + _html(STREAM_HEADER, streams)
    return out


def _html(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


STYLE = """<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1500px;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} img{max-width:100%;border:1px solid #eee;margin:.5rem 0}
code{background:#f4f4f4;padding:0 .2rem} .drift{color:#c0392b;font-weight:600}
</style>"""


def _windows_table(s: dict[str, Any]) -> str:
    head = (
        "<tr><th>window</th><th>phase</th><th>tickets</th><th>altered</th><th>reviews</th>"
        "<th>composite score</th><th>severity</th><th>alert</th><th>Evidently AUC</th>"
        "<th>KS p (Bonferroni)</th><th>what moved</th></tr>"
    )
    rows = []
    for w in s["windows"]:
        c = w["composite"] or {}
        pe = {p["detector"]: p for p in w["peers"]}
        ev, ks = pe.get(peers.EVIDENTLY_DEFAULT), pe.get(peers.KS_PROBS)
        cells = [
            str(w["window"]["index"]),
            w["window"]["phase"],
            str(w["window"]["n_tickets"]),
            ", ".join(f"{k} {v}" for k, v in w["altered"].items()),
            ", ".join(f"{k} {v}" for k, v in w["reviews"].items()),
            "" if c.get("score") is None else f"{c['score']:.1f}",
            c.get("severity", ""),
            "open" if c.get("alert_open") else "",
            "" if ev is None else f"{ev['value']:.3f}" + (" drift" if ev["drifted"] else ""),
            "" if ks is None else f"{ks['value']:.2g}" + (" drift" if ks["drifted"] else ""),
            c.get("what_moved") or "",
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def write_scenario_report(result: ReplayResult, directory: Path) -> dict[str, Any]:
    """Write one scenario's report into ``directory``; returns its summary."""
    directory.mkdir(parents=True, exist_ok=True)
    data = summary(result)
    (directory / SUMMARY).write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    (directory / "table.md").write_text(markdown_table([data]), encoding="utf-8")
    title = f"{result.scenario.name}"
    timeline = plots.timeline(
        result.records, result.stream.windows, title, directory / "timeline.png"
    )
    grid = plots.signals_grid(
        result.records, result.stream.windows, title, directory / "signals.png"
    )
    moved = "".join(
        f"<li><b>{html.escape(m['phase'])}</b>: {html.escape(m['summary'] or 'not detected')}"
        f" (top signals: {html.escape(', '.join(m['top_signals']) or '-')})</li>"
        for m in data["what_moved"]
    )
    page = (
        f"<!doctype html><meta charset=utf-8><title>replay {html.escape(title)}</title>{STYLE}"
        f"<h1>Replay: {html.escape(title)}</h1><p>{html.escape(result.scenario.description)}</p>"
        f"<p>{len(result.stream.tickets)} tickets, window {data['window']}, alpha "
        f"{result.meta.get('alpha', 0):.2g} per window, Evidently "
        f"{html.escape(str(result.meta.get('evidently')))}; late-label re-judgements "
        f"{html.escape(str(result.meta.get('late_labels')))}; timings {result.timings}</p>"
        f"{_html_table([data])}<h2>What the composite said moved</h2><ul>{moved}</ul>"
        f"{_img(timeline)}{_img(grid)}<h2>Windows</h2>{_windows_table(data)}"
    )
    (directory / "index.html").write_text(page, encoding="utf-8")
    return data


def write_index(root: Path) -> list[dict[str, Any]]:
    """The top index of every scenario report under ``root`` (results.md/json, index.html)."""
    summaries = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob(f"*/{SUMMARY}"))
    ]
    (root / "results.md").write_text(markdown_table(summaries), encoding="utf-8")
    compact = [{k: v for k, v in s.items() if k != "windows"} for s in summaries]
    (root / "results.json").write_text(json.dumps(compact, indent=1, default=str), encoding="utf-8")
    links = "".join(
        f'<li><a href="{html.escape(s["scenario"])}/index.html">{html.escape(s["scenario"])}</a>'
        f" - {html.escape(s['description'])}</li>"
        for s in summaries
    )
    images = "".join(
        f"<h3>{html.escape(s['scenario'])}</h3>{_img(root / s['scenario'] / 'timeline.png')}"
        for s in summaries
        if (root / s["scenario"] / "timeline.png").is_file()
    )
    page = (
        f"<!doctype html><meta charset=utf-8><title>ticketwatch replays</title>{STYLE}"
        f"<h1>Drift-scenario replays</h1>{_html_table(summaries)}<ul>{links}</ul>{images}"
    )
    (root / "index.html").write_text(page, encoding="utf-8")
    return summaries
