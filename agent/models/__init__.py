"""The ORM models of DESIGN §4. Migrations (not ``create_all``) build the schema."""

from agent.models.base import EMBEDDING_DIM, Base
from agent.models.catalog import AgentVersion, TaxonomyMigration, TaxonomyRecord, VersionLabel
from agent.models.evals import EvalRun, GoldenSet
from agent.models.monitoring import AlertDelivery, MonitorCalibration, MonitorReference
from agent.models.operations import Alert, AuditEntry, ReviewBoost, SignalValue, Switch
from agent.models.reviews import VERDICTS, Review
from agent.models.tenancy import BudgetReservation, ShadowSpend, Tenant, TenantSpend, User
from agent.models.tickets import (
    Decision,
    Outcome,
    Override,
    RelabelledOutcome,
    Ticket,
    TraceSpan,
)

__all__ = [
    "EMBEDDING_DIM",
    "AgentVersion",
    "Alert",
    "AlertDelivery",
    "AuditEntry",
    "Base",
    "BudgetReservation",
    "Decision",
    "EvalRun",
    "GoldenSet",
    "MonitorCalibration",
    "MonitorReference",
    "Outcome",
    "Override",
    "RelabelledOutcome",
    "Review",
    "ReviewBoost",
    "SignalValue",
    "Switch",
    "TaxonomyMigration",
    "TaxonomyRecord",
    "Tenant",
    "ShadowSpend",
    "TenantSpend",
    "Ticket",
    "TraceSpan",
    "User",
    "VERDICTS",
    "VersionLabel",
]
