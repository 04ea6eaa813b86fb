"""Jinja2 with autoescaping, and the context every page gets (user, CSRF token, flashes,
kill-switch banner)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from review_ui.security.csrf import CSRF_FORM_FIELD, csrf_token
from review_ui.services.review import REASON_LABELS


def _ago(value: datetime | None) -> str:
    if value is None:
        return "-"
    seconds = (datetime.now(UTC) - value).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def threshold_lines(thresholds: dict[str, Any]) -> list[str]:
    """A version's thresholds as short lines: the confidence threshold with how it was fitted
    and what it implies, the novelty gate without its calibration scores, then the rest."""
    lines = []
    selective = thresholds.get("selective") or {}
    if "min_confidence" in thresholds:
        line = f"min_confidence={thresholds['min_confidence']}"
        if selective:
            accuracy = selective.get("accuracy")
            line += (
                f" ({selective.get('method')} {selective.get('target')}: "
                f"{_pct(selective.get('coverage'))} auto-routed, accuracy "
                f"{'-' if accuracy is None else f'{accuracy:.3f}'})"
            )
        lines.append(line)
    gate = thresholds.get("novelty")
    if gate:
        state = "" if gate.get("calibrated") else " uncalibrated"
        lines.append(f"novelty α={gate.get('alpha')} {gate.get('score')} n={gate.get('n')}{state}")
    skip = {"min_confidence", "selective", "novelty"}
    lines += [f"{k}={v}" for k, v in thresholds.items() if k not in skip]
    return lines


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("review_ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=_ago,
        when=_when,
        pct=_pct,
        num=_num,
        pretty_json=_pretty_json,
        threshold_lines=threshold_lines,
    )
    env.globals.update(reason_labels=REASON_LABELS, csrf_field=CSRF_FORM_FIELD)
    return env


templates = Jinja2Templates(env=_environment())


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A message shown once, on the next page (after a redirect)."""
    request.session.setdefault("flash", []).append([kind, text])


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    ctx = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request.session),
        "flashes": request.session.pop("flash", []),
        "switches_on": getattr(request.state, "switches_on", frozenset()),
        "path": request.url.path,
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, ctx, status_code=status)
