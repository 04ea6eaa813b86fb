"""``OUT/report.html``: what each quickstart step did, and the eval figures (autoescaped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ticketwatch quickstart: {{ input.file }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; }
code { background: #f4f4f4; padding: 0 .2rem; }
</style></head>
<body>
<h1>ticketwatch quickstart</h1>
<p>Export <code>{{ input.file }}</code>, sha256 <code>{{ input.sha256[:16] }}</code>.</p>
<h2>Steps</h2>
<table><tr><th>step</th><th>what it did</th><th>when (UTC)</th></tr>
{% for name, step in steps %}<tr><td>{{ name }}</td><td>{{ step.what }}</td>
<td>{{ step.done_at[:19] }}</td></tr>
{% endfor %}</table>
{% if advice %}<h2>Taxonomy advice</h2><ul>
{% for line in advice %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% if warnings %}<h2>Calibration warnings</h2><ul>
{% for line in warnings %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% if figures %}<h2>Evaluation on the golden set</h2>
<table>
<tr><td>cases</td><td>{{ figures.n_cases }}</td></tr>
<tr><td>queue accuracy (end to end, escalations count as wrong)</td>
<td>{{ "%.1f"|format(100 * figures.queue_accuracy) }}%</td></tr>
<tr><td>routed by the agent (coverage)</td>
<td>{{ "%.1f"|format(100 * figures.coverage) }}%</td></tr>
<tr><td>queue accuracy of routed tickets</td>
<td>{{ "%.1f"|format(100 * figures.routed_queue_accuracy) }}%</td></tr>
<tr><td>queue ECE</td><td>{{ "%.3f"|format(figures.queue_ece) }}</td></tr>
<tr><td>priority accuracy</td><td>{{ "%.1f"|format(100 * figures.priority_accuracy) }}%</td></tr>
</table>{% endif %}
<h2>Next</h2>
<pre>{% for line in commands %}{{ line }}
{% endfor %}</pre>
</body></html>
"""


def render_report(state: dict[str, Any], commands: list[str]) -> str:
    """The page for a quickstart's recorded state."""
    steps = state["steps"]
    env = Environment(autoescape=True)
    return env.from_string(TEMPLATE).render(
        input=state["input"],
        steps=list(steps.items()),
        advice=steps.get("taxonomy", {}).get("advice", []),
        warnings=steps.get("version", {}).get("warnings", []),
        figures=steps.get("eval", {}).get("figures"),
        commands=commands,
    )


def write_report(out: Path, state: dict[str, Any], commands: list[str]) -> Path:
    path = out / "report.html"
    tmp = out / ".report.html.part"
    tmp.write_text(render_report(state, commands), encoding="utf-8")
    tmp.replace(path)
    return path
