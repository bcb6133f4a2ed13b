"""`martlake sources`: what each known source's state is in this project."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from martlake.config import Project
from martlake.pipeline._sandbox import configured_sources
from martlake.sources import SOURCES
from martlake.sources.catalog import CATALOG
from martlake.warehouse import DuckDBWarehouse
from martlake.warehouse.duckdb import META_SCHEMA


class SourceState(StrEnum):
    """Where a source stands in one project."""

    CONNECTED = "connected"
    FAILING = "failing"
    NEVER_LOADED = "never loaded"
    NOT_CONFIGURED = "not configured"
    NOT_AVAILABLE = "not available yet"


@dataclass(frozen=True)
class SourceStatus:
    """One row of `martlake sources`."""

    name: str
    title: str
    state: SourceState
    last_load: datetime | None
    """Newest `_ingested_at` in the source's raw zone."""
    message: str | None
    """The latest extraction's error, when it failed."""


def source_statuses(project: Project) -> list[SourceStatus]:
    """State of every known source: configured ones first, in catalog order.

    A configured source is `failing` when its latest extraction failed, `connected` when it
    succeeded, `never loaded` before its first run.
    """
    configured = configured_sources(project)
    warehouse = DuckDBWarehouse(project.warehouse_path)
    latest: dict[str, tuple[str, str | None]] = {}
    tables = set(warehouse.tables())
    if (META_SCHEMA, "source_log") in tables:
        for source, status, message in warehouse.query(
            f"select source, status, message from {META_SCHEMA}.source_log "
            "qualify row_number() over (partition by source order by logged_at desc) = 1"
        ):
            latest[source] = (status, message)
    out = []
    for info in CATALOG:
        when = None
        if info.name in SOURCES:
            cursor = SOURCES[info.name].cursor
            if (f"raw_{info.name}", cursor.table) in tables:
                [(when,)] = warehouse.query(
                    f'select max(_ingested_at) from "raw_{info.name}"."{cursor.table}"'
                )
        status, message = latest.get(info.name, (None, None))
        if not info.available or info.name not in SOURCES:
            state = SourceState.NOT_AVAILABLE
        elif info.name not in configured:
            state = SourceState.NOT_CONFIGURED
        elif status == "failed":
            state = SourceState.FAILING
        elif status == "ok" or when is not None:
            state = SourceState.CONNECTED
        else:
            state = SourceState.NEVER_LOADED
        out.append(SourceStatus(info.name, info.title, state, when, message))
    order = {info.name: n for n, info in enumerate(CATALOG)}
    out.sort(key=lambda s: (s.name not in configured, order[s.name]))
    return out
