"""Human reviews of decisions: the denominator of the disagreement and accuracy estimates."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agent.models.base import Base, created_at, uuid_pk

VERDICTS = ("confirmed", "overridden")


class Review(Base):
    """One reviewer's verdict on one decision (at most one review per decision).

    ``inclusion_prob`` is copied from the decision: the probability that it was put in the
    review queue, so that estimates over reviewed decisions can be weighted back to all of them.
    ``queue_correct`` / ``priority_correct`` say whether the agent's prediction survived the
    review (None when the agent made none, e.g. a kill switch routed the ticket).
    """

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(f"verdict IN {VERDICTS!r}", name="verdict"),
        CheckConstraint("inclusion_prob > 0 AND inclusion_prob <= 1", name="inclusion_prob"),
        Index("ix_reviews_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    decision_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), unique=True
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(20))
    inclusion_prob: Mapped[float] = mapped_column(Float)
    needs_review: Mapped[bool]
    queue_correct: Mapped[bool | None]
    priority_correct: Mapped[bool | None]
    created_at: Mapped[datetime] = created_at()
