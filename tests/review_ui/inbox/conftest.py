"""The relay sink each inbox test module's acknowledgements go to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.review_ui.inbox.live_inbox import RelaySink


@pytest.fixture(scope="module")
def relay() -> Iterator[RelaySink]:
    with RelaySink() as running:
        yield running
