"""Dashboards: signals per segment, volume, disagreement and accuracy, cost and latency."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from review_ui.deps import Reviewer, unit_of_work
from review_ui.services.dashboards import RANGES, dashboard
from review_ui.templating import render

router = APIRouter(prefix="/dashboards", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def dashboards(
    request: Request,
    user: Reviewer,
    range: str = "24h",
    segment: str | None = None,
    window: int | None = None,
) -> Response:
    async with unit_of_work(request) as session:
        dash = await dashboard(session, range_key=range, segment=segment, window_size_s=window)
    return render(request, "dashboards.html", {"dash": dash, "ranges": list(RANGES)})
