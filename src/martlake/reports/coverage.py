"""Which sources feed each report, and what to tell readers about the ones not connected."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa

CONNECTED = "connected"
FAILING = "failing"


@dataclass(frozen=True)
class SourceCoverage:
    """One row of the `sources` sheet: a known source, its state and what it feeds."""

    name: str
    title: str
    state: str
    last_load: datetime | None
    models: tuple[str, ...]
    """Published models built (partly) from this source."""
    note: str

    @property
    def connected(self) -> bool:
        """Has the source ever loaded data that reports can show?"""
        return self.state in (CONNECTED, FAILING)


def model_sources(manifest: Path) -> dict[str, set[str]]:
    """Model name to the martlake sources it is built from, from dbt's `manifest.json`.

    A source is named by its raw schema without `raw_` (`raw_meta_ads` → `meta_ads`). Lineage is
    followed through intermediate models, so a user's model over a shipped one inherits its
    sources. An unreadable or missing manifest gives an empty mapping (no lineage known).
    """
    try:
        data = json.loads(manifest.read_text())
        parents: Mapping[str, list[str]] = data["parent_map"]
        nodes: Mapping[str, Mapping[str, object]] = data["nodes"]
        sources: Mapping[str, Mapping[str, object]] = data["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}

    memo: dict[str, set[str]] = {}

    def upstream(unique_id: str, seen: frozenset[str]) -> set[str]:
        if unique_id in memo:
            return memo[unique_id]
        if unique_id in sources:
            schema = str(sources[unique_id].get("source_name", ""))
            found = {schema.removeprefix("raw_")} if schema.startswith("raw_") else set()
        else:
            found = set()
            for parent in parents.get(unique_id, []):
                if parent not in seen:
                    found |= upstream(parent, seen | {parent})
        memo[unique_id] = found
        return found

    return {
        str(node["name"]): upstream(uid, frozenset({uid}))
        for uid, node in nodes.items()
        if node.get("resource_type") == "model"
    }


def not_connected_note(name: str, title: str, state: str, available: bool) -> str:
    """What a reader should do about a source that feeds nothing yet."""
    if not available:
        return f"{title} is not available in martlake yet; its sections stay empty."
    if state == "not configured":
        return (
            f"{title} is not connected: add [sources.{name}] to martlake.toml "
            f"(README: connecting {title})."
        )
    if state == "never loaded":
        return f"{title} is configured but has not loaded yet: run `martlake run`."
    return ""


def coverage_table(rows: Iterable[SourceCoverage]) -> pa.Table:
    """The `sources` sheet / `sources.csv`."""
    rows = list(rows)
    return pa.table(
        {
            "source": pa.array([r.name for r in rows], pa.string()),
            "title": pa.array([r.title for r in rows], pa.string()),
            "status": pa.array([r.state for r in rows], pa.string()),
            "last_load": pa.array([r.last_load for r in rows], pa.timestamp("us", tz="UTC")),
            "feeds": pa.array([", ".join(r.models) or None for r in rows], pa.string()),
            "note": pa.array([r.note or None for r in rows], pa.string()),
        }
    )


def missing_sections(
    tables: Mapping[str, pa.Table],
    lineage: Mapping[str, set[str]],
    coverage: Iterable[SourceCoverage],
) -> dict[str, str]:
    """Model to the "not connected" text shown instead of its rows.

    A model gets one when it has no rows and none of the sources it is built from has loaded:
    an empty sheet would read as "zero sales", the notice says why and how to fix it.
    """
    by_name = {c.name: c for c in coverage}
    out: dict[str, str] = {}
    for model, table in tables.items():
        feeding = [by_name[s] for s in sorted(lineage.get(model, ())) if s in by_name]
        if table.num_rows or not feeding or any(c.connected for c in feeding):
            continue
        out[model] = " ".join(c.note for c in feeding if c.note) or (
            f"{', '.join(c.title for c in feeding)}: not connected."
        )
    return out
