"""Request and response bodies of the public API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (an unpaired surrogate escape)") from None
    return value


METADATA_MAX_DEPTH = 32

# What the validators above enforce, written into the OpenAPI document so that clients (and the
# schema fuzzer) know it: no NUL anywhere, a body with something besides whitespace.
_NO_NUL = "^[^\\u0000]*$"
_NOT_BLANK = "^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$"
_NO_NUL_TEXT: dict[str, Any] = {"pattern": _NO_NUL}
_METADATA_VALUE_REF = {"$ref": "#/components/schemas/MetadataValue"}
OPENAPI_COMPONENTS: dict[str, Any] = {
    "MetadataValue": {
        "description": "Any JSON value whose strings and keys hold no NUL character.",
        "anyOf": [
            {"type": "string", "pattern": _NO_NUL},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "null"},
            {"type": "array", "items": _METADATA_VALUE_REF},
            {
                "type": "object",
                "propertyNames": {"pattern": _NO_NUL},
                "additionalProperties": _METADATA_VALUE_REF,
            },
        ],
    }
}
Metadata = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "Free-form JSON kept with the ticket, at most "
            f"{METADATA_MAX_DEPTH} levels deep.",
            "propertyNames": {"pattern": _NO_NUL},
            "additionalProperties": _METADATA_VALUE_REF,
        }
    ),
]


def _no_nul_anywhere(value: Any) -> Any:
    """Postgres text and JSONB hold neither NUL characters nor unpaired surrogates: refuse them
    in keys and values, and metadata nested deeper than ``METADATA_MAX_DEPTH`` levels."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > METADATA_MAX_DEPTH:
            raise ValueError(f"must not nest deeper than {METADATA_MAX_DEPTH} levels")
        if isinstance(item, str):
            _no_nul(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _no_nul(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return value


class TicketCreate(BaseModel):
    """A support ticket from an upstream helpdesk. ``(source, external_id)`` is its identity
    within the tenant: submitting it again returns the first decision; another tenant's ticket
    with the same pair is a ticket of its own."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "source": "zendesk",
                    "external_id": "48213",
                    "subject": "Card not arrived",
                    "body": "I ordered a new card two weeks ago and it still has not arrived.",
                    "customer_id": "c-1042",
                    "channel": "email",
                }
            ]
        },
    )

    source: str = Field(
        min_length=1,
        max_length=100,
        pattern=_NAME,
        description="The submitting system, e.g. `zendesk`.",
    )
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="The ticket's id in the submitting system.",
        json_schema_extra=_NO_NUL_TEXT,
    )
    subject: str = Field(default="", max_length=1_000, json_schema_extra=_NO_NUL_TEXT)
    body: str = Field(min_length=1, max_length=20_000, json_schema_extra={"pattern": _NOT_BLANK})
    customer_id: str | None = Field(
        default=None,
        max_length=200,
        description="Keeps a customer on one version during canaries.",
        json_schema_extra=_NO_NUL_TEXT,
    )
    channel: str = Field(default="web", min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")
    metadata: Metadata = Field(default_factory=dict)
    received_at: AwareDatetime | None = Field(
        default=None, description="When the helpdesk received it (default: now)."
    )

    @field_validator("source", "external_id", "subject", "body", "customer_id")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return _no_nul(v) if isinstance(v, str) else v

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _no_nul_anywhere(v)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v


class Probabilities(BaseModel):
    queue: dict[str, float]
    priority: dict[str, float]


class RouteOut(BaseModel):
    """Where the ticket goes. ``routed_to`` is a queue or ``human_triage``."""

    ticket_id: uuid.UUID
    decision_id: uuid.UUID
    routed_to: str
    queue: str | None
    priority: str | None
    mode: str = Field(
        description="agent, kill_switch, fallback, unknown, low_confidence, no_version"
    )
    confidence: float | None
    needs_review: bool
    reason: str | None
    probabilities: Probabilities
    agent_version_id: uuid.UUID | None
    classifier: str | None
    latency_ms: float
    duplicate: bool = Field(description="True when this is a resubmission of a known ticket.")


class SpanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    trace_id: str
    span_id: str
    started_at: datetime
    duration_ms: float
    input: dict[str, Any]
    output: dict[str, Any]
    error: str | None


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    routed_to: str
    queue: str | None
    priority: str | None
    mode: str
    confidence: float | None
    margin: float | None
    entropy: float | None
    knn_agreement: float | None
    knn_consensus: str | None
    needs_review: bool
    reason: str | None
    error: str | None
    queue_probs: dict[str, float]
    priority_probs: dict[str, float]
    agent_version_id: uuid.UUID | None
    classifier: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    created_at: datetime


class OutcomeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    queue: str
    priority: str
    source: str
    recorded_at: datetime


class TicketOut(BaseModel):
    id: uuid.UUID
    source: str
    external_id: str
    subject: str
    body: str
    customer_id: str | None
    channel: str
    metadata: dict[str, Any]
    received_at: datetime
    has_embedding: bool
    decision: DecisionOut | None
    outcome: OutcomeOut | None
    spans: list[SpanOut]


class OutcomeCreate(BaseModel):
    """The final route a ticket ended with in the helpdesk. Name the ticket by its id or by
    ``(source, external_id)``: either names one of the caller's own tickets."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["ticket_id"],
                    "not": {"anyOf": [{"required": ["source"]}, {"required": ["external_id"]}]},
                },
                {"required": ["source", "external_id"], "not": {"required": ["ticket_id"]}},
            ]
        },
    )

    # Absent rather than null in the schema: either identity is complete or left out.
    ticket_id: uuid.UUID | SkipJsonSchema[None] = None
    source: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=100)
    external_id: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    queue: str = Field(min_length=1, max_length=100)
    priority: Literal["P1", "P2", "P3", "P4"]
    recorded_at: AwareDatetime | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _one_identity(self) -> OutcomeCreate:
        by_pair = self.source is not None and self.external_id is not None
        if (self.ticket_id is None) == (not by_pair):
            raise ValueError("give either ticket_id or both source and external_id")
        return self


class OutcomeRecorded(BaseModel):
    ticket_id: uuid.UUID
    queue: str
    priority: str
    agent_routed_to: str | None = Field(description="Where the agent had routed it.")
    agreed: bool | None
    reviewer_queue: str | None = Field(
        default=None,
        description="The queue a reviewer gave the ticket, if one reviewed it: kept beside "
        "this outcome (the review counts for human disagreement, this outcome for history).",
    )
    reviewer_priority: str | None = None


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] = Field(default_factory=list)


class ErrorOut(BaseModel):
    error: ErrorBody
