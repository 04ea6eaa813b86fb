"""The operations pack (ops/): alert rules valid and tested by promtool, and every series the
rules and the Grafana dashboard name is one the API or the worker exports, with those labels."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

import agent.metrics
import monitor.worker.metrics

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "ops"
RULES = OPS / "prometheus" / "alerts.yml"
DASHBOARD = OPS / "grafana" / "dashboards" / "ticketwatch.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
# `le` is every histogram bucket's label; `job` and `instance` are Prometheus' own.
IMPLICIT_LABELS = {"le", "job", "instance"}
SELECTOR = re.compile(r"\b(ticketwatch_[a-z0-9_]+)(\{[^}]*\})?")
GROUPING = re.compile(r"\bby \(([^)]*)\)")


def exported() -> dict[str, set[str]]:
    """Every series name the project's metrics export, with the label names it carries."""
    series: dict[str, set[str]] = {}
    for module in (agent.metrics, monitor.worker.metrics):
        for metric in vars(module).values():
            if isinstance(metric, MetricWrapperBase):
                for suffix in SUFFIXES[metric._type]:
                    series[metric._name + suffix] = set(metric._labelnames)
    return series


def promql() -> list[str]:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    dashboard = json.loads(DASHBOARD.read_text())
    targets = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return [r["expr"] for r in rules] + targets


def recorded() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {r["record"] for g in groups for r in g["rules"] if "record" in r}


def check(expr: str, series: dict[str, set[str]]) -> list[str]:
    """What ``expr`` names that nothing exports: series, or labels a series does not carry."""
    problems = []
    named = SELECTOR.findall(expr)
    labels_of = set().union(*(series.get(n, set()) for n, _ in named)) | IMPLICIT_LABELS
    for name, selector in named:
        if name not in series:
            problems.append(f"no series {name}")
            continue
        used = set(re.findall(r"([a-z_]+)\s*=~?", selector))
        problems += [f"{name} has no label {label}" for label in used - series[name]]
    for grouping in GROUPING.findall(expr):
        wanted = {g.strip() for g in grouping.split(",")}
        problems += [f"no series here carries {label}" for label in wanted - labels_of]
    problems += [
        f"no rule records {r}"
        for r in re.findall(r"\bticketwatch:[a-z0-9_:]+", expr)
        if r not in recorded()
    ]
    return problems


def test_every_series_the_rules_and_dashboard_name_is_exported_with_its_labels():
    series = exported()
    assert "ticketwatch_tickets_total" in series and "ticketwatch_monitor_windows_total" in series
    problems = {expr: p for expr in promql() if (p := check(expr, series))}
    assert not problems


def test_the_checker_finds_a_misspelt_series_a_missing_label_and_an_unrecorded_rule():
    series = exported()
    assert check("rate(ticketwatch_ticket_total[5m])", series) == [
        "no series ticketwatch_ticket_total"
    ]
    assert check('ticketwatch_tickets_total{queue="x"}', series) == [
        "ticketwatch_tickets_total has no label queue"
    ]
    assert check("sum by (queue) (rate(ticketwatch_tickets_total[5m]))", series) == [
        "no series here carries queue"
    ]
    assert check("ticketwatch:nothing:rate5m > 1", series) == [
        "no rule records ticketwatch:nothing:rate5m"
    ]


def test_the_registry_holds_what_the_checker_reads():
    # The checker reads the metric objects; the exposition is what Prometheus scrapes.
    names = {m.name for m in REGISTRY.collect()}
    assert {"ticketwatch_tickets", "ticketwatch_monitor_windows"} <= names


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: scripts/bootstrap.sh --dev installs Debian's prometheus"
    return path


def test_promtool_accepts_the_rules(promtool: str):
    run = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def test_the_rules_fire_when_they_should_and_not_before(promtool: str):
    test_file = OPS / "prometheus" / "alerts_test.yml"
    run = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_alert_says_how_severe_it_is_and_what_to_do():
    groups = yaml.safe_load(RULES.read_text())["groups"]
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} >= {
        "TicketwatchApiDown",
        "TicketwatchApiErrors",
        "TicketwatchRoutingSlow",
        "TicketwatchHumanShareHigh",
        "TicketwatchMonitorSilent",
        "TicketwatchWebhookFailures",
        "TicketwatchBudgetExhausted",
    }
    for a in alerts:
        assert a["labels"]["severity"] in {"critical", "warning", "info"}, a["alert"]
        assert a["annotations"]["summary"] and a["annotations"]["description"], a["alert"]


def test_compose_observability_profile_loads_the_rules_and_the_dashboard():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert "observability" in prometheus["profiles"] and "observability" in grafana["profiles"]
    mounts = prometheus["volumes"] + grafana["volumes"]
    for path in ("./ops/prometheus/alerts.yml", "./ops/grafana/dashboards"):
        assert any(m.startswith(path + ":") for m in mounts), path
        assert (ROOT / path).exists(), path
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
