"""Long IT tickets for the load benchmark: several paragraphs, over 500 characters, invented.

Deterministic for a seed. Each ticket has a greeting, a paragraph saying what broke, one with
what the user already tried, often an error message or a log excerpt, and a sign-off, as a
helpdesk's e-mail tickets do. Nothing here comes from a dataset.
"""

from __future__ import annotations

import random

MIN_CHARS = 500

_QUEUES = {
    "access": (
        ["my account", "the VPN login", "single sign-on", "my password", "the MFA prompt"],
        ["locks me out", "rejects my credentials", "loops back to the login page", "expired"],
    ),
    "hardware": (
        ["my laptop", "the docking station", "the second monitor", "the office printer"],
        ["will not power on", "keeps disconnecting", "shows a blank screen", "overheats"],
    ),
    "software": (
        ["Outlook", "the ERP client", "Excel", "the CRM web app", "Teams"],
        ["crashes on start", "freezes when I open a file", "cannot sync", "is very slow"],
    ),
    "network": (
        ["the Wi-Fi on floor 3", "the wired connection", "the shared drive", "the intranet"],
        ["drops every few minutes", "is unreachable", "times out", "is painfully slow"],
    ),
}
_WHEN = [
    "since this morning",
    "since the update last night",
    "after I came back from leave",
    "since we moved desks on Monday",
    "intermittently for about a week",
]
_TRIED = [
    "I restarted the machine twice",
    "I cleared the browser cache and cookies",
    "I reconnected the cables and tried another port",
    "I signed out and back in",
    "I reinstalled the application from the software centre",
    "a colleague on the same team has the same problem",
    "it works from home but not in the office",
]
_IMPACT = [
    "I cannot process customer orders until this is fixed.",
    "We have a board presentation this afternoon, so this is urgent.",
    "Three people on my team are blocked by this.",
    "It is not urgent, but it is slowing me down every day.",
    "Month-end closing starts tomorrow and I need access before then.",
]
_ERRORS = [
    "Error 0x80070005: access is denied.",
    "The server returned HTTP 503 Service Unavailable.",
    "Certificate validation failed: unable to get local issuer certificate.",
    "Connection timed out after 30000 ms (host fileserver02.corp.local).",
    "An unexpected error occurred. Correlation ID: 7f3c2a9e-41b8.",
]
_NAMES = ["Ana", "Bram", "Chloe", "Dmitri", "Esra", "Farid", "Greta", "Hiro", "Ines", "Jonas"]


def long_ticket(rng: random.Random) -> tuple[str, str]:
    """One invented ticket and its queue."""
    queue = rng.choice(sorted(_QUEUES))
    things, faults = _QUEUES[queue]
    thing, fault = rng.choice(things), rng.choice(faults)
    paragraphs = [
        rng.choice(["Hello IT team,", "Hi,", "Dear service desk,", "Good morning,"]),
        f"{thing.capitalize()} {fault} {rng.choice(_WHEN)}. {rng.choice(_IMPACT)}",
        "What I tried so far: " + "; ".join(rng.sample(_TRIED, k=rng.randint(2, 4))) + ".",
    ]
    if rng.random() < 0.7:
        paragraphs.append(f"The message I get is: {rng.choice(_ERRORS)}")
    paragraphs.append(
        f"My asset tag is IT-{rng.randint(10000, 99999)} and I am on extension "
        f"{rng.randint(2000, 7999)}. I can be reached all day."
    )
    paragraphs.append(f"Thanks in advance,\n{rng.choice(_NAMES)}")
    text = "\n\n".join(paragraphs)
    while len(text) <= MIN_CHARS:  # a short draw gets a follow-up, as a reply in the thread
        text += f"\n\nUpdate: {rng.choice(_TRIED)}, and {thing} still {fault}."
    return text, queue


def long_tickets(n: int, *, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` tickets over ``MIN_CHARS`` characters, with their queues, the same for a seed."""
    rng = random.Random(seed)
    return [long_ticket(rng) for _ in range(n)]
