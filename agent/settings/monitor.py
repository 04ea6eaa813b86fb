"""Settings of the monitor: windows, segments, calibration, budget, alerts, actions, workers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class MonitorSettings(BaseModel):
    """Fields of :class:`agent.config.Settings` (environment: ``TICKETWATCH_`` + the name)."""

    # --- monitor ---
    monitor_window_sizes: str = Field(
        default="15m,1h,24h",
        description="Rolling windows the monitor computes, aligned to the clock (s, m, h, d).",
    )
    monitor_segments: str = Field(
        default="queue,priority,channel,tenant",
        description="Segment kinds watched besides the whole stream (`all`): queue, priority "
        "(both as predicted), channel and tenant (`tenant:<slug>`); empty: the whole stream "
        "only.",
    )
    monitor_min_tickets: int = Field(
        default=50,
        ge=1,
        description="A window (or segment) with fewer tickets is reported as insufficient, "
        "never as drift.",
    )
    monitor_window_max_tickets: int = Field(
        default=20_000,
        ge=100,
        description="Above this, a window is a deterministic uniform sample of its tickets.",
    )
    monitor_window_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="Beat waits this long after a window closes before computing it.",
    )
    monitor_label_horizons: str = Field(
        default="1h,24h,7d",
        description="When, after a window closes, it is judged again on the labels (helpdesk "
        "outcomes, reviews) that arrived since; a past window that proves wrong opens an alert.",
    )
    monitor_false_alarm_period: str = Field(
        default="30d",
        description="Target false-alarm rate: one false alert per this period for the whole "
        "deployment (every segment, window size and the sequential layer; docs/monitor.md "
        "splits it); thresholds come from the reference at each stream's share.",
    )
    monitor_evidence_groups: str = Field(
        default="label_mix,embedding,novelty,confidence,disagreement",
        description="Signal groups whose signals add up to the evidence score that opens alerts "
        "(ops: latency and errors follow the load and have their own Prometheus metrics).",
    )
    monitor_open_after: int = Field(
        default=1,
        ge=1,
        description="Warning windows in a row that open an alert (a critical one opens at once).",
    )
    monitor_clear_after: int = Field(
        default=3, ge=1, description="Clean windows in a row that resolve an open alert."
    )
    monitor_reference_period: str = Field(
        default="7d",
        description="Length of a traffic reference: a version's first period of traffic, or "
        "the period before `monitor rebaseline`.",
    )
    monitor_reference_min_tickets: int = Field(
        default=500, ge=50, description="Decisions a traffic reference needs."
    )
    monitor_reference_max_tickets: int = Field(
        default=10_000,
        ge=100,
        description="Larger references are a deterministic uniform sample of this size.",
    )
    monitor_calibration_replicates: int = Field(
        default=200,
        ge=100,
        description="Bootstrap replicates per calibration (cached per reference, segment and "
        "bucket of tickets per window).",
    )
    monitor_attribution_max_tickets: int = Field(
        default=200,
        ge=0,
        description="When a production alert opens, up to this many labelled tickets of its "
        "window are replayed through the previous production version to tell a drifted world "
        "from a regressed change; 0: no attribution.",
    )
    monitor_attribution_min_labelled: int = Field(
        default=20,
        ge=1,
        description="Fewer labelled tickets in the alert's window: the attribution is "
        "`insufficient`.",
    )
    monitor_attribution_alpha: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="Level of the attribution's exact McNemar test (previous vs current version).",
    )
    monitor_webhook_url: str | None = Field(
        default=None, description="Alerts are POSTed here as JSON. Unset: no webhook."
    )
    monitor_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Key of the X-Ticketwatch-Signature header (HMAC-SHA256 of timestamp.body).",
    )
    monitor_webhook_timeout_s: float = Field(
        default=5.0, gt=0, description="Timeout of one webhook request."
    )
    monitor_webhook_max_attempts: int = Field(
        default=6, ge=1, description="Webhook attempts before giving up (each one recorded)."
    )
    monitor_webhook_backoff_s: float = Field(
        default=2.0, gt=0, description="Delay before the second attempt; doubles each time."
    )
    monitor_action_kill_switch: Literal["off", "segment", "global"] = Field(
        default="off",
        description="Opt-in: on an alert, turn on the kill switch of its segment (segment "
        "alerts only) or the global one. Audited with actor `monitor`.",
    )
    monitor_action_boost_review_rate: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Opt-in: on a segment alert, sample this share of the segment for review.",
    )
    monitor_action_min_severity: Literal["warning", "critical"] = Field(
        default="critical", description="Alerts at or above this severity trigger the actions."
    )
    monitor_auto_release: bool = Field(
        default=False,
        description="Turn a switch or boost the monitor set back off when its alert resolves "
        "(off: only a person switches back).",
    )
    monitor_requeue_after_s: float = Field(
        default=600.0,
        gt=0,
        description="A window scheduled this long ago that still has segments with no rows is "
        "scheduled again (its task died with a killed worker; the broker would return it only "
        "after an hour). Longer than a busy worker's backlog: a recompute is harmless but wasted.",
    )
    monitor_worker_concurrency: int = Field(
        default=2, ge=1, description="Tasks `ticketwatch worker` runs at once (threads)."
    )
    monitor_metrics_port: int = Field(
        default=9808,
        ge=0,
        le=65535,
        description="Port where `ticketwatch worker` serves Prometheus metrics; 0: none.",
    )
