"""Logging for every process: structured (structlog over stdlib), secrets masked."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from agent.config import Settings

_URL_SECRET = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]+)@")
_KEYLIKE = re.compile(r"\b(sk|tw|pk)[-_][A-Za-z0-9_-]{12,}\b")


def mask_secrets(text: str) -> str:
    """Hide passwords in URLs and API-key-looking tokens."""
    text = _URL_SECRET.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _KEYLIKE.sub(lambda m: f"{m.group(1)}-***", text)


def _mask_processor(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = mask_secrets(value)
    return event_dict


class _MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = mask_secrets(str(record.msg))
        return True


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_processor,
    ]


def make_formatter(*, json: bool) -> logging.Formatter:
    """The formatter of every handler: masked, with the context bound by the code that logs
    (a routed ticket's ``ticket_id``, ``trace_id`` and ``tenant_id``), JSON or console."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


def configure_logging(settings: Settings) -> None:
    """Route stdlib and structlog records through one masked, optionally JSON, renderer."""
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_MaskingFilter())
    handler.setFormatter(make_formatter(json=settings.log_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("LiteLLM", "litellm", "httpx", "httpcore", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
