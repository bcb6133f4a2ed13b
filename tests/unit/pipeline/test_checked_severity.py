"""A SKIPPED result never makes a clean check run or step look worse than OK."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from martlake.config import Project, load_project
from martlake.pipeline import NullProgress, StepStatus
from martlake.pipeline._steps import RunContext, _checked
from martlake.quality import CheckResult, Severity, run_quality
from martlake.quality._context import CheckContext
from martlake.warehouse import DuckDBWarehouse
from tests.conftest import FIXTURES


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "martlake.toml").write_bytes((FIXTURES / "config" / "minimal.toml").read_bytes())
    return load_project(tmp_path, environ={})


def clean_but_one_skipped(ctx: CheckContext) -> list[CheckResult]:
    return [
        CheckResult("nulls", "marts.a", Severity.OK, "no nulls"),
        CheckResult("nulls", "marts.b", Severity.SKIPPED, "turned off"),
    ]


def test_a_clean_check_run_with_a_skipped_table_is_recorded_as_ok(project: Project) -> None:
    warehouse = DuckDBWarehouse(project.warehouse_path)

    run_quality(project, warehouse, "r1", checks={"nulls": clean_but_one_skipped})

    assert warehouse.query("select worst_severity, results from martlake.dq_run") == [("OK", 2)]


@pytest.mark.parametrize(
    ("severities", "status"),
    [
        pytest.param(["OK", "SKIPPED"], StepStatus.OK, id="ok-and-skipped"),
        pytest.param(["SKIPPED"], StepStatus.OK, id="only-skipped"),
        pytest.param(["SKIPPED", "WARN"], StepStatus.WARN, id="warn"),
        pytest.param(["SKIPPED", "ERROR"], StepStatus.FAILED, id="error"),
    ],
)
def test_step_status_follows_the_worst_result_that_ran(
    project: Project, severities: list[str], status: StepStatus
) -> None:
    warehouse = DuckDBWarehouse(project.warehouse_path)
    rc = RunContext(project, warehouse, "r1", datetime.now(UTC), NullProgress())
    results = [CheckResult("nulls", f"t{i}", Severity(s), "m") for i, s in enumerate(severities)]

    assert _checked(rc, "quality", results, "checks").status is status
