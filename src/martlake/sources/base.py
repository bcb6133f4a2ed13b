"""What every source is: named streams of pyarrow tables, incremental by a cursor."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, ClassVar, NamedTuple

import pyarrow as pa

from martlake.config import PrivacySettings
from martlake.errors import SourceContractError
from martlake.privacy import Hasher

META_COLUMNS = ("_source", "_extract_run_id", "_ingested_at")
TIMESTAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
EXTRACT_WINDOWS = pa.schema(
    [("account_id", pa.string()), ("date_start", pa.date32()), ("date_end", pa.date32())]
)
"""`extract_windows`: the account-days an extraction read completely (both ends inclusive).

Ad sources re-read a lookback window; an account-day inside a recorded window for which the
extraction returned no rows is empty in that extraction, so staging drops older rows of it.
"""


class Batch(NamedTuple):
    """Rows for one raw table, ready to load."""

    table: str
    data: pa.Table


@dataclass(frozen=True)
class Cursor:
    """Where a source's watermark lives in the raw zone: `max(column)` per `account_column`."""

    table: str
    account_column: str
    column: str


@dataclass(frozen=True)
class ExtractContext:
    """What one extraction needs to know besides the source's own settings.

    Attributes:
        run_id: The run this extraction belongs to; stamped on every row.
        watermarks: Per account, the highest cursor value already in the raw zone.
        start_date: Backfill from this day (overrides watermark and lookback).
        end_date: Do not read past this day.
        full_refresh: Ignore watermarks and read everything from the configured start.
        privacy: The project's `[privacy]` settings; sources hash PII with `hasher`.
    """

    run_id: str
    watermarks: Mapping[str, Any] = field(default_factory=dict)
    start_date: date | None = None
    end_date: date | None = None
    full_refresh: bool = False
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    @cached_property
    def hasher(self) -> Hasher:
        """Hashes emails and phones as `[privacy]` says (`mode`, `secret`, country code)."""
        return Hasher.from_settings(self.privacy)


class Source(abc.ABC):
    """A connector: reads one vendor API and yields `Batch`es of typed pyarrow tables."""

    name: ClassVar[str]
    schemas: ClassVar[Mapping[str, pa.Schema]]
    """Raw table name to its columns (without the `_source`/`_extract_run_id`/`_ingested_at`)."""
    cursor: ClassVar[Cursor]

    @property
    def dataset(self) -> str:
        """Schema of the raw tables, `raw_<name>`."""
        return f"raw_{self.name}"

    @abc.abstractmethod
    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        """Yield batches of rows; raise `SourceError` subclasses on failure."""

    def check(self) -> None:  # noqa: B027 - optional hook
        """Cheap request proving credentials work; raise `AuthError` if not."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    @property
    def http_stats(self) -> tuple[int, int]:
        """(requests sent, retries) of this source's HTTP client so far."""
        client = getattr(self, "_http", None)
        return (getattr(client, "requests", 0), getattr(client, "retries", 0))


def build_table(
    source: str,
    table: str,
    schema: pa.Schema,
    columns: Mapping[str, list[Any]] | Mapping[str, Any],
    run_id: str,
    ingested_at: datetime | None = None,
) -> pa.Table:
    """Turn column lists or Arrow arrays (JSON values, money and timestamps as strings) into a
    typed table.

    Strings are cast by Arrow in C: `"12.34"` to DECIMAL(18,2), ISO 8601 with offset to UTC
    timestamps. The three `_`-prefixed lineage columns are appended.

    Raises:
        SourceContractError: A value cannot be cast to its column's type.
    """
    n = len(next(iter(columns.values()))) if columns else 0
    arrays = []
    for fld in schema:
        values = columns.get(fld.name)
        if values is None:
            arrays.append(pa.nulls(n, fld.type))
            continue
        try:
            if isinstance(values, pa.Array | pa.ChunkedArray):
                arr = values
            else:
                kind = pa.string() if _cast_from_string(fld.type) else fld.type
                arr = pa.array(values, type=kind)
            arrays.append(arr.cast(fld.type) if arr.type != fld.type else arr)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise SourceContractError(
                f"{source}: field `{fld.name}` of `{table}` has a value that is not "
                f"{fld.type} ({str(exc).splitlines()[0][:120]}): the API changed its payload; "
                "report it with the source name and API version"
            ) from None
    stamp = ingested_at or datetime.now(UTC)
    arrays += [
        pa.array([source] * n, pa.string()),
        pa.array([run_id] * n, pa.string()),
        pa.array([stamp] * n, TIMESTAMP),
    ]
    full = pa.schema(
        [
            *schema,
            pa.field("_source", pa.string()),
            pa.field("_extract_run_id", pa.string()),
            pa.field("_ingested_at", TIMESTAMP),
        ]
    )
    return pa.Table.from_arrays(arrays, schema=full)


def window_table(
    source: str, account_id: str, date_start: date, date_end: date, run_id: str
) -> pa.Table:
    """One `extract_windows` row: `account_id` was read completely from `date_start` to
    `date_end`; yield it only after the window's last page."""
    return build_table(
        source,
        "extract_windows",
        EXTRACT_WINDOWS,
        {
            "account_id": [account_id],
            "date_start": [date_start.isoformat()],
            "date_end": [date_end.isoformat()],
        },
        run_id,
    )


def _cast_from_string(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_decimal(dtype) or pa.types.is_timestamp(dtype) or pa.types.is_date(dtype)
    )


DEFAULT_HISTORY_DAYS = 37 * 30
"""Ad platforms keep about 37 months of daily reports; the first run reads that far back."""


def first_day(
    ctx: ExtractContext,
    account: str,
    lookback_days: int,
    start_date: date | None,
    until: date,
) -> date:
    """First day a date-cursored stream reads for `account`.

    A backfill's start date wins; else the watermark minus the lookback (platforms restate
    recent days); else the configured start date; else `DEFAULT_HISTORY_DAYS` before `until`.
    """
    if ctx.start_date is not None:
        return ctx.start_date
    watermark = None if ctx.full_refresh else ctx.watermarks.get(account)
    if watermark is not None:
        last = watermark if isinstance(watermark, date) else date.fromisoformat(str(watermark))
        return last - timedelta(days=lookback_days)
    if start_date is not None:
        return start_date
    return until - timedelta(days=DEFAULT_HISTORY_DAYS)


def date_windows(since: date, until: date, size: int) -> Iterator[tuple[date, date]]:
    """Consecutive inclusive `(first, last)` day ranges of at most `size` days.

    >>> list(date_windows(date(2025, 1, 1), date(2025, 1, 5), 2))  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.date(2025, 1, 1), datetime.date(2025, 1, 2)),
     (datetime.date(2025, 1, 3), datetime.date(2025, 1, 4)),
     (datetime.date(2025, 1, 5), datetime.date(2025, 1, 5))]
    """
    start = since
    while start <= until:
        stop = min(start + timedelta(days=size - 1), until)
        yield start, stop
        start = stop + timedelta(days=1)


@dataclass(frozen=True)
class Account:
    """One account as its API describes it, for reconciliation: days are its local days and
    amounts are in its currency (None for counts)."""

    id: str
    timezone: str
    currency: str | None = None


@dataclass(frozen=True)
class DayTotal:
    """A source-side total of one account, day and metric (`orders` or `spend`), optionally of
    one campaign (the drill-down)."""

    account_id: str
    day: date
    metric: str
    value: Decimal
    campaign_id: str | None = None
