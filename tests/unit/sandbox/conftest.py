from __future__ import annotations

from datetime import date

import pytest

from martlake.sandbox import Business, SimulatorConfig

# Spans the US spring-forward change (2025-03-09) so offsets flip inside the data.
SMALL = SimulatorConfig(start_date=date(2025, 2, 20), end_date=date(2025, 4, 10), orders_per_day=50)


@pytest.fixture(scope="session")
def small_config() -> SimulatorConfig:
    return SMALL


@pytest.fixture(scope="session")
def small_business() -> Business:
    return Business(SMALL)
