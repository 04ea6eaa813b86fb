"""Generated helpdesk exports in the CSV shapes of Zendesk, Jira Service Management,
ServiceNow and Freshdesk: their column names, priority spellings, timestamp formats and
dialects (BOM, semicolons, cp1252, quoted newlines), with made-up IT-support tickets.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# label -> (subjects, descriptions); each queue has its own vocabulary.
QUEUES: dict[str, tuple[list[str], list[str]]] = {
    "Billing & Payments": (
        [
            "Invoice {n} charged twice",
            "Refund for order {n} not received",
            "Wrong VAT on invoice {n}",
            "Credit card declined on renewal {n}",
        ],
        [
            "Our finance team sees a duplicate charge on the invoice; please refund it.",
            "The payment went through but the receipt shows the wrong amount.",
            "We were billed for seats we cancelled last month.",
        ],
    ),
    "Network / VPN": (
        [
            "VPN disconnects every {n} minutes",
            "Cannot reach the intranet from office {n}",
            "Wi-Fi drops on floor {n}",
            "Slow connection to file server {n}",
        ],
        [
            "The VPN client times out while connecting, the tunnel never comes up.",
            "Packets are lost between the office router and the gateway.",
            "The wireless access point keeps dropping laptops.",
        ],
    ),
    "Access Management": (
        [
            "Password reset for account {n}",
            "Locked out after {n} failed logins",
            "Need admin rights on project {n}",
            "MFA token lost, employee {n}",
        ],
        [
            "I cannot log in, my password expired and the reset link does not arrive.",
            "Please grant the new hire access to the shared drive and the CRM.",
            "My authenticator app was on my old phone, I need a new MFA enrolment.",
        ],
    ),
    "Hardware": (
        [
            "Laptop {n} screen flickers",
            "Printer on floor {n} jams",
            "Docking station {n} not charging",
            "Keyboard replacement for desk {n}",
        ],
        [
            "The monitor goes black when the laptop is docked.",
            "The printer by the café shows a paper jam although the tray is empty.",
            "The battery does not charge, the charger light stays off.",
        ],
    ),
}

# Each product's spelling of P1..P4 (index 0 = P1).
PRIORITY_WORDS = {
    "zendesk": ["Urgent", "High", "Normal", "Low"],
    "jira": ["Highest", "High", "Medium", "Low"],
    "servicenow": ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"],
    "freshdesk": ["Urgent", "High", "Medium", "Low"],
}
PRESET_NAMES = tuple(PRIORITY_WORDS)


@dataclass(frozen=True)
class Ticket:
    id: str
    subject: str
    description: str
    label: str
    priority: str  # P1..P4, the truth
    created: datetime  # UTC


def tickets(preset: str, per_queue: int, *, seed: int = 0) -> list[Ticket]:
    """``per_queue`` tickets of each queue, interleaved, with P1..P4 drawn per ticket."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    out = []
    for i in range(per_queue * len(QUEUES)):
        label = list(QUEUES)[i % len(QUEUES)]
        subjects, descriptions = QUEUES[label]
        out.append(
            Ticket(
                id=_ticket_id(preset, i),
                subject=rng.choice(subjects).format(n=rng.randint(2, 999)),
                description=rng.choice(descriptions) + "\nThanks, " + rng.choice(["Ana", "Bo"]),
                label=label,
                priority=f"P{rng.randint(1, 4)}",
                created=start + timedelta(minutes=37 * i),
            )
        )
    return out


def _ticket_id(preset: str, i: int) -> str:
    return {
        "zendesk": str(1000 + i),
        "jira": f"HELP-{i + 1}",
        "servicenow": f"INC{i + 1:07d}",
        "freshdesk": str(500 + i),
    }[preset]


def _row(preset: str, t: Ticket) -> dict[str, str]:
    priority = PRIORITY_WORDS[preset][int(t.priority[1]) - 1]
    if preset == "zendesk":  # Zendesk's CSV export has no description column
        return {
            "Id": t.id,
            "Requester": "Ana Silva",
            "Subject": t.subject,
            "Status": "Solved",
            "Priority": priority,
            "Group": t.label,
            "Created at": t.created.strftime("%Y-%m-%d %H:%M:%S %z"),
            "Tags": "export",
        }
    if preset == "jira":
        return {
            "Summary": t.subject,
            "Issue key": t.id,
            "Issue Type": "Service Request",
            "Status": "Done",
            "Priority": priority,
            "Component/s": t.label,
            "Created": t.created.strftime("%d/%b/%y %I:%M %p"),
            "Description": t.description,
        }
    if preset == "servicenow":
        return {
            "number": t.id,
            "opened_at": t.created.strftime("%Y-%m-%d %H:%M:%S"),  # the instance's zone
            "short_description": t.subject,
            "description": t.description,
            "priority": priority,
            "state": "Closed",
            "assignment_group": t.label,
        }
    return {
        "Ticket ID": t.id,
        "Subject": t.subject,
        "Description": t.description,
        "Status": "Closed",
        "Priority": priority,
        "Source": "Email",
        "Group": t.label,
        "Created time": t.created.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write_export(path: Path, preset: str, rows: list[Ticket]) -> Path:
    """The export as the product writes it: Zendesk with a UTF-8 BOM, ServiceNow as cp1252
    with semicolons (a European Excel), the others UTF-8 with commas; quoted newlines."""
    data = [_row(preset, t) for t in rows]
    buf = io.StringIO(newline="")
    delimiter = ";" if preset == "servicenow" else ","
    writer = csv.DictWriter(buf, fieldnames=list(data[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(data)
    text = buf.getvalue()
    encoding = {"zendesk": "utf-8-sig", "servicenow": "cp1252"}.get(preset, "utf-8")
    path.write_bytes(text.encode(encoding))
    return path


def write_taxonomy(path: Path, labels: list[str]) -> Path:
    """A taxonomy with one queue ``q<i>`` per export label (as its intent) and P1-P4."""
    import yaml

    queues = [
        {"name": f"q{i}", "description": "d", "intents": [label]} for i, label in enumerate(labels)
    ]
    priorities = [
        {"name": f"P{i}", "description": "d", "target_first_response": "1h"} for i in range(1, 5)
    ]
    path.write_text(
        yaml.safe_dump({"name": "it", "version": "1", "queues": queues, "priorities": priorities})
    )
    return path
