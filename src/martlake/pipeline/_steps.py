"""The steps of a run. Each reads what the previous one wrote, so any can run alone."""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from martlake.alerts import AlertOutcome, dispatch
from martlake.config import Project, redact, require_secrets
from martlake.errors import ConfigError, MartlakeError, SourceError
from martlake.pipeline._dlt import dlt_pipeline, dlt_resource, load_error, unwrap
from martlake.pipeline._privacy import leak_checks
from martlake.pipeline._progress import Progress
from martlake.pipeline._sandbox import business_clock, configured_sources, source_settings
from martlake.privacy import PiiPolicy
from martlake.quality import CheckResult, Severity, record_results, run_quality, worst
from martlake.reports.coverage import (
    SourceCoverage,
    coverage_table,
    missing_sections,
    model_sources,
    not_connected_note,
)
from martlake.sources import Batch, ExtractContext, Source, build_source, source_class
from martlake.warehouse import DuckDBWarehouse
from martlake.warehouse.duckdb import META_SCHEMA

logger = logging.getLogger(__name__)

Step = Literal["extract", "load", "transform", "quality", "reconcile", "publish"]
STEPS: tuple[Step, ...] = ("extract", "load", "transform", "quality", "reconcile", "publish")
MARTS_SCHEMA = "marts"


class StepStatus(StrEnum):
    """Outcome of one step."""

    OK = "ok"
    WARN = "warn"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class StepResult:
    """What one step did."""

    step: str
    status: StepStatus
    seconds: float = 0.0
    rows: int | None = None
    message: str | None = None
    started_at: datetime | None = None


@dataclass
class RunContext:
    """Shared by the steps of one run; holds no data, only where to find it."""

    project: Project
    warehouse: DuckDBWarehouse
    run_id: str
    started_at: datetime
    progress: Progress
    start_date: date | None = None
    end_date: date | None = None
    full_refresh: bool = False
    send_alerts: bool = True
    http_options: dict[str, float] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    alerts: list[AlertOutcome] = field(default_factory=list)

    @property
    def output_dir(self) -> Path:
        """This run's output folder, `<output_dir>/<run date>`."""
        return self.project.output_dir / self.started_at.astimezone().date().isoformat()


def extract(rc: RunContext) -> StepResult:
    """Read every configured source into dlt load packages (nothing reaches the warehouse yet).

    All sources are read before any is loaded: if one fails, every package of this run is
    dropped and the warehouse stays as it was.
    """
    require_secrets(rc.project)
    policy = PiiPolicy.from_settings(rc.project.settings.privacy)
    total = 0
    extracted: list[str] = []
    with source_settings(rc.project) as settings:
        for name, cfg in settings.items():
            source = build_source(name, cfg, **rc.http_options)
            started = time.perf_counter()
            counts: Counter[str] = Counter()
            try:
                watermarks = rc.warehouse.max_by_account(
                    source.dataset,
                    source.cursor.table,
                    source.cursor.account_column,
                    source.cursor.column,
                )
                ctx = ExtractContext(
                    run_id=rc.run_id,
                    watermarks=watermarks,
                    start_date=rc.start_date,
                    end_date=rc.end_date,
                    full_refresh=rc.full_refresh,
                    privacy=rc.project.settings.privacy,
                )
                pipeline = dlt_pipeline(rc.project, name, rc.warehouse)
                extracted.append(name)
                batches = policy.protect(name, source.extract(ctx))
                pipeline.extract(dlt_resource(source, _counted(batches, counts)))
                pipeline.normalize()
            except Exception as exc:
                _drop_pending(rc, extracted)
                inner = unwrap(exc)
                error = (
                    inner
                    if isinstance(inner, MartlakeError)
                    else SourceError(f"{name}: extraction failed: {inner}")
                )
                _log_source(
                    rc, name, "failed", None, time.perf_counter() - started, str(error), source
                )
                raise error from (None if error is inner else inner)
            finally:
                source.close()
            seconds = time.perf_counter() - started
            _log_source(rc, name, "ok", sum(counts.values()), seconds, None, source)
            for table in source.schemas:
                rc.progress.unit("extract", f"{name}.{table}", "ok", counts[table], seconds)
            total += sum(counts.values())
    return StepResult("extract", StepStatus.OK, rows=total)


def load(rc: RunContext) -> StepResult:
    """Load every pending dlt package into the raw zone (append-only)."""
    total = 0
    for name in configured_sources(rc.project):
        started = time.perf_counter()
        cls = source_class(name)
        dataset = f"raw_{name}"
        before = _counts(rc.warehouse, dataset, cls.schemas)
        pipeline = dlt_pipeline(rc.project, name, rc.warehouse)
        try:
            pipeline.normalize()
            if pipeline.has_pending_data:
                pipeline.load()
        except Exception as exc:
            raise load_error(name, exc) from None
        after = _counts(rc.warehouse, dataset, cls.schemas)
        seconds = time.perf_counter() - started
        for table in cls.schemas:
            rows = after[table] - before[table]
            total += rows
            rc.progress.unit("load", f"{dataset}.{table}", "ok", rows, seconds)
    return StepResult("load", StepStatus.OK, rows=total)


def transform(rc: RunContext) -> StepResult:
    """Build and test the dbt project against the warehouse."""
    from martlake.transform import run_dbt

    result = run_dbt(
        "build",
        database=rc.warehouse.path,
        state_dir=rc.project.state_dir / "dbt",
        full_refresh=rc.full_refresh,
        vars=dbt_vars(rc.project),
        threads=rc.project.settings.transform.threads,
        extra_model_paths=user_model_paths(rc.project),
    )
    for node in result.nodes:
        if node.resource_type == "model":
            rc.progress.unit(
                "transform", node.name, node.status, node.rows_affected, node.execution_time
            )
    models = sum(1 for n in result.nodes if n.resource_type == "model")
    if result.failed:
        names = ", ".join(f"{n.name} ({n.status})" for n in result.failed[:5])
        more = f" and {len(result.failed) - 5} more" if len(result.failed) > 5 else ""
        cause = next(
            (c for n in result.failed if n.status == "error" and (c := _cause(n.message))), None
        )
        return StepResult(
            "transform",
            StepStatus.FAILED,
            message=f"{len(result.failed)} dbt node(s) failed: {names}{more}"
            + (f"; {cause}" if cause else ""),
        )
    tests = sum(1 for n in result.nodes if n.resource_type == "test")
    return StepResult("transform", StepStatus.OK, message=f"{models} models, {tests} tests passed")


def user_model_paths(project: Project) -> list[Path]:
    """The project's own dbt model folders (`[transform] model_paths`); the default `models`
    folder only when it exists."""
    settings = project.settings.transform
    paths = [project.root / path for path in settings.model_paths]
    if "model_paths" not in settings.model_fields_set:
        return [path for path in paths if path.is_dir()]
    missing = [str(path) for path in paths if not path.is_dir()]
    if missing:
        raise ConfigError(
            f"`[transform] model_paths` names `{missing[0]}`, which is not a folder: create it"
            " or remove it from martlake.toml"
        )
    return paths


def dbt_vars(project: Project) -> dict[str, object]:
    """The dbt vars of a project: its `[reporting]` currency and fixed FX rates, and its
    `[attribution]` channel spellings, discount-code rules and survey settings, its `[marts]`
    parameters and the names of its configured sources."""
    reporting = project.settings.reporting
    out: dict[str, object] = {"fx_rates": {k: str(v) for k, v in reporting.fx_rates.items()}}
    if reporting.currency:
        out["reporting_currency"] = reporting.currency
    attribution = project.settings.attribution
    out["attribution_channels"] = dict(attribution.channels)
    out["attribution_discount_codes"] = [
        rule.model_dump(exclude_none=True) for rule in attribution.discount_codes
    ]
    out["attribution_survey_answers"] = dict(attribution.survey_answers)
    out["attribution_survey_questions"] = list(attribution.survey_questions)
    out["premium_zscore"] = project.settings.marts.premium_zscore
    out["attribution_lag_days"] = project.settings.marts.attribution_lag_days
    out["configured_sources"] = sorted(configured_sources(project))
    return out


def _cause(message: str | None) -> str | None:
    # dbt wraps a database error as "Runtime Error in test x (path)\n  <Kind> Error: <text>";
    # the last line without its kind is what the model or test says went wrong.
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if not lines:
        return None
    return re.sub(r"^[A-Za-z ]*Error: ", "", lines[-1])


def quality(rc: RunContext) -> StepResult:
    """Run the data-quality checks and append their results to `martlake.dq_check_result`."""
    expected = [
        (f"raw_{name}", source_class(name).cursor.table) for name in configured_sources(rc.project)
    ]
    results = run_quality(
        rc.project,
        rc.warehouse,
        rc.run_id,
        expected_raw=expected,
        as_of=business_clock(rc.project),
    )
    return _checked(rc, "quality", results, "checks")


def _checked(rc: RunContext, step: str, results: list[CheckResult], what: str) -> StepResult:
    """Show, keep and alert on one step's check results; the worst one sets the step's status.

    One progress line per check (its worst table), plus one per table that is not OK, so a
    clean run stays short however many tables are checked. CRITICAL/ERROR alerts go out now;
    warnings and resolutions wait for `send_run_alerts` at the end of the run.
    """
    rc.checks = [*rc.checks, *results]
    by_check: dict[str, list[CheckResult]] = {}
    for r in results:
        by_check.setdefault(r.check, []).append(r)
    for name, found in by_check.items():
        rc.progress.unit(step, f"{name} ({len(found)})", worst(found).value, None, 0.0)
        for r in found:
            if r.severity.rank >= Severity.WARN.rank:
                rc.progress.unit(step, f"{name} {r.table}", r.severity.value, None, 0.0)
    if rc.send_alerts:
        sent = dispatch(rc.project, rc.warehouse, rc.run_id, results, scope="immediate")
        rc.alerts = [*rc.alerts, *sent]
    status = {
        Severity.CRITICAL: StepStatus.FAILED,
        Severity.ERROR: StepStatus.FAILED,
        Severity.WARN: StepStatus.WARN,
    }.get(worst(results), StepStatus.OK)
    bad = sum(1 for r in results if r.severity.rank >= Severity.WARN.rank)
    return StepResult(step, status, message=f"{len(results)} {what}, {bad} not OK")


def send_run_alerts(rc: RunContext) -> None:
    """Send the run's warnings as one message and its resolutions (the CRITICAL/ERROR alerts
    went out with their step); a failure here is logged, never raised, so it cannot hide the
    run's own outcome."""
    if not rc.checks or not rc.send_alerts:
        return
    try:
        sent = dispatch(rc.project, rc.warehouse, rc.run_id, rc.checks, scope="deferred")
    except Exception as exc:  # noqa: BLE001 - the run's result matters more than its warnings
        logger.warning("could not send the warnings of run %s: %s", rc.run_id, redact(str(exc)))
        return
    rc.alerts = [*rc.alerts, *sent]


def reconcile(rc: RunContext) -> StepResult:
    """Compare the warehouse's per-day totals with the sources' own (`[reconciliation]`) and
    append the results to `martlake.dq_check_result` and `martlake.dq_reconciliation`."""
    from martlake.quality.reconcile import reconcile_sources

    now = business_clock(rc.project)
    with source_settings(rc.project) as settings:
        results = reconcile_sources(
            rc.warehouse,
            settings,
            rc.project.settings.reconciliation,
            run_id=rc.run_id,
            now=now,
            end_date=rc.end_date,
            http_options=rc.http_options,
        )
    record_results(rc.warehouse, rc.run_id, results)
    return _checked(rc, "reconcile", results, "account checks")


def publish(rc: RunContext) -> StepResult:
    """Write the workbook and CSV files of the reporting models."""
    from martlake.reports import write_csvs, write_workbook

    settings = rc.project.settings.publish
    present = {t for s, t in rc.warehouse.tables() if s == MARTS_SCHEMA}
    missing = [m for m in settings.models if m not in present]
    tables = {
        m: rc.warehouse.arrow(f'select * from "{MARTS_SCHEMA}"."{m}" order by all')
        for m in settings.models
        if m in present
    }
    folder = rc.output_dir
    rows = sum(t.num_rows for t in tables.values())
    lineage = model_sources(rc.project.state_dir / "dbt" / "target" / "manifest.json")
    coverage = _coverage(rc, list(tables), lineage)
    notices = missing_sections(tables, lineage, coverage)
    sheets = {SOURCES_SHEET: coverage_table(coverage), **tables}
    if "xlsx" in settings.formats:
        started = time.perf_counter()
        write_workbook(
            folder / "report.xlsx",
            sheets,
            title=rc.project.settings.project.name,
            notices=notices,
        )
        rc.progress.unit("publish", "report.xlsx", "ok", rows, time.perf_counter() - started)
    if "csv" in settings.formats:
        started = time.perf_counter()
        write_csvs(folder / "csv", sheets)
        rc.progress.unit("publish", "csv", "ok", rows, time.perf_counter() - started)
    if missing:
        return StepResult(
            "publish",
            StepStatus.WARN,
            rows=rows,
            message=f"not built yet, left out: {', '.join(missing)}",
        )
    return StepResult("publish", StepStatus.OK, rows=rows, message=str(folder))


def publish_and_scan(rc: RunContext) -> StepResult:
    """`publish`, then the leak scan of the warehouse and this run's output folder: plaintext
    PII anywhere is a CRITICAL `privacy_leak` result and fails the step."""
    result = publish(rc)
    leaks = leak_checks(rc.project, rc.warehouse, rc.run_id, rc.output_dir)
    _checked(rc, "publish", leaks, "places scanned")
    found = [r for r in leaks if r.severity is Severity.CRITICAL]
    if not found:
        return result
    where = ", ".join(r.table for r in found[:3]) + (" …" if len(found) > 3 else "")
    message = f"plaintext PII in {len(found)} place(s): {where}"
    return StepResult("publish", StepStatus.FAILED, result.seconds, result.rows, message)


SOURCES_SHEET = "data_sources"
"""First sheet of `report.xlsx` (and `csv/data_sources.csv`): every known source's state."""


def _coverage(
    rc: RunContext, models: list[str], lineage: Mapping[str, set[str]]
) -> list[SourceCoverage]:
    """Every known source's state and the published models it feeds."""
    # Imported here: sources_status imports the pipeline package, which imports this module.
    from martlake.pipeline.sources_status import SourceState, source_statuses
    from martlake.sources.catalog import CATALOG

    available = {info.name: info.available for info in CATALOG}
    out = []
    for status in source_statuses(rc.project):
        note = not_connected_note(
            status.name, status.title, status.state.value, available.get(status.name, False)
        )
        if status.state is SourceState.FAILING:
            note = f"latest extraction failed, figures may be stale: {status.message or ''}"
        out.append(
            SourceCoverage(
                name=status.name,
                title=status.title,
                state=status.state.value,
                last_load=status.last_load,
                models=tuple(m for m in models if status.name in lineage.get(m, ())),
                note=note.strip(),
            )
        )
    return out


STEP_FUNCTIONS: dict[str, Callable[[RunContext], StepResult]] = {
    "extract": extract,
    "load": load,
    "transform": transform,
    "quality": quality,
    "reconcile": reconcile,
    "publish": publish_and_scan,
}


def _counted(batches: Iterator[Batch], counts: Counter[str]) -> Iterator[Batch]:
    for batch in batches:
        counts[batch.table] += batch.data.num_rows
        yield batch


def _counts(warehouse: DuckDBWarehouse, dataset: str, tables: object) -> Counter[str]:
    present = {t for s, t in warehouse.tables() if s == dataset}
    counts: Counter[str] = Counter()
    for table in tables:  # type: ignore[attr-defined]
        if table in present:
            counts[table] = warehouse.query(f'select count(*) from "{dataset}"."{table}"')[0][0]
    return counts


def _log_source(
    rc: RunContext,
    name: str,
    status: str,
    rows: int | None,
    seconds: float,
    message: str | None,
    source: Source,
) -> None:
    requests, retries = source.http_stats
    rc.warehouse.execute(
        f"insert into {META_SCHEMA}.source_log by name select ? as run_id, ? as source, "
        "? as status, ? as rows, ? as seconds, ? as message, ? as logged_at, "
        "? as requests, ? as retries",
        [
            rc.run_id,
            name,
            status,
            rows,
            seconds,
            redact(message) if message else None,
            datetime.now(UTC),
            requests,
            retries,
        ],
    )


def _drop_pending(rc: RunContext, names: list[str]) -> None:
    for name in names:
        try:
            with warnings.catch_warnings():
                # abort_packages(), its successor, completes the abort by loading into the
                # warehouse; a failed extraction must leave the warehouse untouched.
                warnings.simplefilter("ignore", DeprecationWarning)
                dlt_pipeline(rc.project, name, rc.warehouse).drop_pending_packages()
        except Exception:  # noqa: BLE001 - best effort; the original error matters more
            logger.debug("could not drop pending packages of %s", name, exc_info=True)
