"""Reconciliation: the warehouse's per-day totals against the sources' own totals.

For each of the last `[reconciliation] days` closed days (ended in the shop's or the ad
account's timezone) the source's API is asked for its total (Shopify: orders created that day,
any status; ad platforms: the account's spend in its currency) and the warehouse's is summed
from the model users read. A difference on a settled day is CRITICAL; on one of the
`unsettled_days` most recent days, which platforms still restate, a small one is WARN. An ad
account's mismatched days are compared campaign by campaign (the drill-down). Every comparison
is appended to `martlake.dq_reconciliation`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from martlake.config import ReconciliationSettings, redact
from martlake.errors import MartlakeError
from martlake.quality._results import CheckResult, Severity
from martlake.sources import build_source
from martlake.sources.base import Account, DayTotal
from martlake.warehouse import DuckDBWarehouse
from martlake.warehouse.duckdb import META_SCHEMA

logger = logging.getLogger(__name__)

CHECK = "reconciliation"
ROUNDING = Decimal("0.005")
"""Money is rounded to cents row by row in the warehouse: each summed row may be off by this."""
_CENT = Decimal("0.01")


@runtime_checkable
class Reconcilable(Protocol):
    """A source that can report its own totals per account and day."""

    def reconciliation_accounts(self) -> list[Account]: ...

    def reconciliation_totals(
        self, account: Account, since: date, until: date
    ) -> list[DayTotal]: ...

    def campaign_totals(self, account: Account, day: date) -> list[DayTotal]: ...


@dataclass(frozen=True)
class WarehouseTotals:
    """Where the warehouse keeps what a source's totals are compared with."""

    schema: str
    table: str
    account: str
    day: str
    value: str
    metric: str
    currency: str | None = None
    campaign: str | None = None

    @property
    def money(self) -> bool:
        """Whether the metric is an amount rounded to cents row by row."""
        return self.currency is not None


TOTALS: dict[str, WarehouseTotals] = {
    # Like `orders/count.json?status=any`: cancelled and test orders count, deleted ones not.
    "shopify": WarehouseTotals(
        "staging", "stg_shopify__orders", "shop_domain", "order_date", "count(*)", "orders"
    ),
    "meta_ads": WarehouseTotals(
        "marts",
        "facebook_unified",
        "account_id",
        "date",
        "sum(spend)",
        "spend",
        "currency_code",
        "campaign_id",
    ),  # fmt: skip
    "google_ads": WarehouseTotals(
        "marts",
        "google_ads_unified",
        "account_id",
        "date",
        "sum(spend)",
        "spend",
        "currency_code",
        "campaign_id",
    ),  # fmt: skip
    "tiktok_ads": WarehouseTotals(
        "marts",
        "tiktok_unified",
        "account_id",
        "date",
        "sum(spend)",
        "spend",
        "currency_code",
        "campaign_id",
    ),  # fmt: skip
}
"""Source name to the warehouse model its totals are compared with (account currency, before
any conversion to the reporting currency). Fairing is left out: survey responses have no
daily totals (orders, spend) to reconcile."""


@dataclass(frozen=True)
class Comparison:
    """One source total against the warehouse's, for an account-day (or one of its campaigns)."""

    source: str
    account_id: str
    day: date
    metric: str
    source_value: Decimal
    warehouse_value: Decimal
    status: Severity
    currency: str | None = None
    campaign_id: str | None = None

    @property
    def diff(self) -> Decimal:
        """Warehouse minus source."""
        return self.warehouse_value - self.source_value

    @property
    def diff_pct(self) -> float | None:
        """The difference in % of the source's value; None when the source says 0."""
        if not self.source_value:
            return None
        return float(self.diff / abs(self.source_value) * 100)


@dataclass
class _Day:
    value: Decimal = Decimal(0)
    rows: int = 0


@dataclass
class _Outcome:
    results: list[CheckResult] = field(default_factory=list)
    rows: list[Comparison] = field(default_factory=list)


def day_status(
    source_value: Decimal,
    warehouse_value: Decimal,
    *,
    unsettled: bool,
    settings: ReconciliationSettings,
    allowance: Decimal = Decimal(0),
) -> Severity:
    """OK within `tolerance_pct` (or `allowance`, the rounding of summed rows); on an unsettled
    day WARN within `unsettled_tolerance_pct`; else CRITICAL.

    >>> s = ReconciliationSettings()
    >>> [day_status(Decimal(100), Decimal(v), unsettled=u, settings=s).value
    ...  for v, u in ((100, False), (101, False), (101, True), (103, True))]
    ['OK', 'CRITICAL', 'WARN', 'CRITICAL']
    """
    diff = abs(warehouse_value - source_value)
    if diff <= allowance:
        return Severity.OK
    pct = diff / abs(source_value) * 100 if source_value else None
    if pct is not None and pct <= Decimal(str(settings.tolerance_pct)):
        return Severity.OK
    if unsettled and pct is not None and pct <= Decimal(str(settings.unsettled_tolerance_pct)):
        return Severity.WARN
    return Severity.CRITICAL


def closed_days(
    timezone: str,
    now: datetime,
    settings: ReconciliationSettings,
    *,
    first: date | None = None,
    last: date | None = None,
) -> list[date]:
    """The last `settings.days` days that have ended in `timezone` at `now`, oldest first,
    none before `first` or after `last`.

    >>> at = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)  # still 9 March in New York
    >>> days = closed_days("America/New_York", at, ReconciliationSettings(days=2))
    >>> [d.isoformat() for d in days]
    ['2025-03-07', '2025-03-08']
    """
    end = now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)
    if last is not None:
        end = min(end, last)
    start = end - timedelta(days=settings.days - 1)
    if first is not None:
        start = max(start, first)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def reconcile_sources(
    warehouse: DuckDBWarehouse,
    configs: Mapping[str, Any],
    settings: ReconciliationSettings,
    *,
    run_id: str,
    now: datetime | None = None,
    end_date: date | None = None,
    http_options: Mapping[str, float] | None = None,
) -> list[CheckResult]:
    """Reconcile every configured source that reports its own totals and record the outcome.

    Args:
        warehouse: The warehouse, after the transform.
        configs: Source name to its settings section (as `martlake.toml` or the sandbox has it).
        settings: The `[reconciliation]` section.
        run_id: Stamped on every `martlake.dq_reconciliation` row.
        now: The instant that decides which days have closed; default: now.
        end_date: Compare no day after this one (a backfill's `--end-date`).
        http_options: Passed to each source's HTTP client.

    Returns:
        One `reconciliation` result per shop or ad account; an API error is an ERROR result,
        never an exception.
    """
    now = now or datetime.now(UTC)
    outcome = _Outcome()
    for name, config in configs.items():
        totals = TOTALS.get(name)
        if totals is None:
            continue
        try:
            source = build_source(name, config, **dict(http_options or {}))
        except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
            outcome.results.append(_failed(f"{name}.{totals.metric}", name, exc))
            continue
        try:
            if not isinstance(source, Reconcilable):
                continue
            first = getattr(config, "start_date", None)
            part = _reconcile_source(
                warehouse, name, source, settings, now=now, first=first, last=end_date
            )
        finally:
            source.close()
        outcome.results += part.results
        outcome.rows += part.rows
    record_comparisons(warehouse, run_id, outcome.rows)
    return outcome.results


def _reconcile_source(
    warehouse: DuckDBWarehouse,
    name: str,
    source: Reconcilable,
    settings: ReconciliationSettings,
    *,
    now: datetime,
    first: date | None = None,
    last: date | None = None,
) -> _Outcome:
    """Compare one source's accounts over their closed days (see `reconcile_sources`)."""
    totals = TOTALS[name]
    outcome = _Outcome()
    try:
        accounts = source.reconciliation_accounts()
    except MartlakeError as exc:
        outcome.results.append(_error(f"{name}.{totals.metric}", exc))
        return outcome
    except Exception as exc:  # noqa: BLE001 - a result, never an aborted run
        outcome.results.append(_failed(f"{name}.{totals.metric}", name, exc))
        return outcome
    for account in accounts:
        table = f"{name}.{totals.metric}"
        if totals.currency is not None:
            table += f":{account.id}"
        try:
            part = _reconcile_account(
                warehouse, name, source, account, table, settings, now=now, first=first, last=last
            )
        except Exception as exc:  # noqa: BLE001 - a result, never an aborted run
            outcome.results.append(_failed(table, name, exc))
            continue
        outcome.results += part.results
        outcome.rows += part.rows
    return outcome


def _reconcile_account(
    warehouse: DuckDBWarehouse,
    name: str,
    source: Reconcilable,
    account: Account,
    table: str,
    settings: ReconciliationSettings,
    *,
    now: datetime,
    first: date | None,
    last: date | None,
) -> _Outcome:
    """Compare one shop or ad account over its closed days."""
    totals = TOTALS[name]
    outcome = _Outcome()
    try:
        zone = account.timezone
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        zone = "UTC"
    days = closed_days(zone, now, settings, first=first, last=last)
    if not days:
        outcome.results.append(
            CheckResult(CHECK, table, Severity.SKIPPED, f"{table}: no closed day to compare")
        )
        return outcome
    try:
        api = source.reconciliation_totals(account, days[0], days[-1])
    except MartlakeError as exc:
        outcome.results.append(_error(table, exc))
        return outcome
    try:
        ours, currencies = _warehouse_days(warehouse, totals, account.id, days)
    except MartlakeError as exc:
        outcome.results.append(_missing_model(table, totals, exc))
        return outcome
    by_day = {d: Decimal(0) for d in days}
    for total in api:
        if total.day in by_day:
            by_day[total.day] += total.value
    # Settling is counted back from the latest day that has ended, not from `--end-date`: in a
    # backfill, months-old days are settled.
    latest = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
    unsettled_from = latest - timedelta(days=settings.unsettled_days - 1)
    compared = []
    for day in days:
        mine = ours.get(day, _Day())
        allowance = ROUNDING * max(mine.rows, 1) if totals.money else Decimal(0)
        status = day_status(
            by_day[day],
            mine.value,
            unsettled=settings.unsettled_days > 0 and day >= unsettled_from,
            settings=settings,
            allowance=allowance,
        )
        compared.append(
            Comparison(
                name, account.id, day, totals.metric, by_day[day], mine.value, status,
                account.currency,
            )
        )  # fmt: skip
    outcome.rows += compared
    drills = _drill_down(warehouse, name, source, account, compared, settings)
    outcome.rows += [c for rows in drills.values() if isinstance(rows, list) for c in rows]
    outcome.results.append(_summary(table, account, compared, drills, currencies, totals))
    return outcome


def record_comparisons(warehouse: DuckDBWarehouse, run_id: str, rows: Sequence[Comparison]) -> None:
    """Append comparisons to `martlake.dq_reconciliation`."""
    checked_at = datetime.now(UTC)
    warehouse.executemany(
        f"insert into {META_SCHEMA}.dq_reconciliation by name select ? as run_id, "
        "? as source, ? as account_id, ? as day, ? as metric, ? as campaign_id, ? as currency, "
        "? as source_value, ? as warehouse_value, ? as diff, ? as status, ? as checked_at",
        [
            (
                run_id,
                r.source,
                r.account_id,
                r.day,
                r.metric,
                r.campaign_id,
                r.currency,
                r.source_value.quantize(_CENT),
                r.warehouse_value.quantize(_CENT),
                r.diff.quantize(_CENT),
                r.status.value,
                checked_at,
            )
            for r in rows
        ],
    )


def _warehouse_days(
    warehouse: DuckDBWarehouse, totals: WarehouseTotals, account: str, days: list[date]
) -> tuple[dict[date, _Day], set[str]]:
    currency = f"string_agg(distinct {totals.currency}, ',')" if totals.currency else "null"
    rows = warehouse.query(
        f'select "{totals.day}", {totals.value}, count(*), {currency} '
        f'from "{totals.schema}"."{totals.table}" '
        f'where cast("{totals.account}" as varchar) = ? and "{totals.day}" between ? and ? '
        "group by 1",
        [account, days[0], days[-1]],
    )
    currencies: set[str] = set()
    for *_, found in rows:
        currencies |= set(found.split(",")) if found else set()
    return {d: _Day(Decimal(v or 0), n) for d, v, n, _ in rows}, currencies


def _drill_down(
    warehouse: DuckDBWarehouse,
    name: str,
    source: Reconcilable,
    account: Account,
    compared: list[Comparison],
    settings: ReconciliationSettings,
) -> dict[date, list[Comparison] | str]:
    """Per mismatched day (worst first, at most `drill_down_days`): the campaigns that differ,
    or why they could not be compared."""
    totals = TOTALS[name]
    if totals.campaign is None:
        return {}
    bad = sorted((c for c in compared if c.status is not Severity.OK), key=lambda c: -abs(c.diff))[
        : settings.drill_down_days
    ]
    out: dict[date, list[Comparison] | str] = {}
    for day_result in bad:
        day = day_result.day
        try:
            api = source.campaign_totals(account, day)
            rows = warehouse.query(
                f'select cast("{totals.campaign}" as varchar), {totals.value}, count(*) '
                f'from "{totals.schema}"."{totals.table}" '
                f'where cast("{totals.account}" as varchar) = ? and "{totals.day}" = ? group by 1',
                [account.id, day],
            )
        except MartlakeError as exc:
            out[day] = f"campaigns not compared: {redact(str(exc))}"
            continue
        ours = {str(c): (Decimal(v or 0), n) for c, v, n in rows}
        theirs: dict[str, Decimal] = {}
        for total in api:
            key = str(total.campaign_id)
            theirs[key] = theirs.get(key, Decimal(0)) + total.value
        differing = []
        for campaign in sorted(set(ours) | set(theirs)):
            value, n = ours.get(campaign, (Decimal(0), 0))
            source_value = theirs.get(campaign, Decimal(0))
            if abs(value - source_value) <= ROUNDING * max(n, 1):
                continue
            differing.append(
                Comparison(
                    name, account.id, day, totals.metric, source_value, value,
                    day_result.status, account.currency, campaign,
                )
            )  # fmt: skip
        out[day] = sorted(differing, key=lambda c: -abs(c.diff))
    return out


def _summary(
    table: str,
    account: Account,
    compared: list[Comparison],
    drills: Mapping[date, list[Comparison] | str],
    currencies: set[str],
    totals: WarehouseTotals,
) -> CheckResult:
    worst = max((c.status for c in compared), key=lambda s: s.rank)
    span = f"{compared[0].day} … {compared[-1].day}"
    unit = f" in {account.currency}" if account.currency else ""
    other = sorted(currencies - {account.currency}) if account.currency else []
    if other:
        worst = Severity.CRITICAL
    bad = [c for c in compared if c.status is not Severity.OK]
    if not bad and not other:
        return CheckResult(
            CHECK,
            table,
            Severity.OK,
            f"{table}: {len(compared)} closed days ({span}) match the source{unit}",
            observed=0,
        )
    parts = []
    for c in sorted(bad, key=lambda c: (-c.status.rank, -abs(c.diff)))[:3]:
        parts.append(_describe(c, drills.get(c.day)))
    more = f"; … and {len(bad) - 3} more" if len(bad) > 3 else ""
    money = f"; the warehouse has amounts in {', '.join(other)}" if other else ""
    if worst is Severity.CRITICAL:
        first, last = min(c.day for c in bad or compared), max(c.day for c in bad or compared)
        hint = (
            f"re-read the days with `martlake run --start-date {first} --end-date {last}`, "
            f"then check `{totals.schema}.{totals.table}`"
        )
    else:
        hint = "recent days the platform may still restate; the next runs re-read them"
    return CheckResult(
        CHECK,
        table,
        worst,
        f"{table}: {len(bad)} of {len(compared)} closed days differ from the source{unit} "
        f"({span}): {'; '.join(parts)}{more}{money}: {hint}",
        observed=len(bad),
    )


def _describe(c: Comparison, drill: list[Comparison] | str | None) -> str:
    pct = f", {c.diff_pct:+.1f} %" if c.diff_pct is not None else ""
    text = (
        f"{c.day} {c.metric} {_fmt(c.warehouse_value)} in the warehouse vs "
        f"{_fmt(c.source_value)} at the source ({_fmt(c.diff, sign=True)}{pct}, "
        f"{c.status.value})"
    )
    if isinstance(drill, str):
        return f"{text}, {drill}"
    if drill:
        shown = ", ".join(f"{d.campaign_id} {_fmt(d.diff, sign=True)}" for d in drill[:5])
        extra = f" and {len(drill) - 5} more" if len(drill) > 5 else ""
        return f"{text}, campaigns: {shown}{extra}"
    if drill is not None:
        return f"{text}, no single campaign differs"
    return text


def _fmt(value: Decimal, *, sign: bool = False) -> str:
    if value == value.to_integral_value():
        return f"{int(value):+d}" if sign else f"{int(value)}"
    text = f"{value.quantize(_CENT):+,.2f}" if sign else f"{value.quantize(_CENT):,.2f}"
    return text


def _failed(table: str, name: str, exc: Exception) -> CheckResult:
    logger.debug("reconciliation of %s failed", table, exc_info=True)
    return CheckResult(
        CHECK,
        table,
        Severity.ERROR,
        f"{table}: reconciling `{name}` failed, so nothing was reconciled "
        f"({type(exc).__name__}: {redact(str(exc))}): check [sources.{name}] in martlake.toml "
        "(account ids, timezone) and re-run `martlake run --only reconcile`; if it persists, "
        "report it with the `-vv` log",
    )


def _error(table: str, exc: MartlakeError) -> CheckResult:
    return CheckResult(
        CHECK,
        table,
        Severity.ERROR,
        f"{table}: could not read the source's totals, so nothing was reconciled: "
        f"{redact(str(exc))}",
    )


def _missing_model(table: str, totals: WarehouseTotals, exc: MartlakeError) -> CheckResult:
    return CheckResult(
        CHECK,
        table,
        Severity.ERROR,
        f"{table}: cannot read `{totals.schema}.{totals.table}` ({redact(str(exc))}): run "
        "`martlake run` (or `martlake run --from transform`) to build it",
    )
