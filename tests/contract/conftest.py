"""Fixtures of the connector contract tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from martlake.sandbox import Business, EmulatorServer


@pytest.fixture
def server(business: Business) -> Iterator[EmulatorServer]:
    """The emulators of the test module's `business` fixture, fresh for each test."""
    with EmulatorServer(business) as srv:
        yield srv
