"""dlt wiring: one dlt pipeline per source, working files under `.martlake/dlt`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from martlake.config import Project
from martlake.errors import MartlakeError, WarehouseError
from martlake.sources import Batch, Source
from martlake.warehouse import DuckDBWarehouse

# dlt reads its own settings from the environment; keep it offline and quiet.
_DLT_DEFAULTS = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "RUNTIME__LOG_LEVEL": "WARNING",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "false",
}


def dlt_pipeline(project: Project, source_name: str, warehouse: DuckDBWarehouse) -> Any:
    """The dlt pipeline that loads `source_name` into `raw_<source_name>`."""
    for key, value in _DLT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    import dlt

    return dlt.pipeline(
        pipeline_name=f"martlake_{source_name}",
        pipelines_dir=str(project.state_dir / "dlt"),
        destination=warehouse.dlt_destination(),
        dataset_name=f"raw_{source_name}",
    )


def dlt_resource(source: Source, batches: Iterator[Batch]) -> Any:
    """An append-only dlt resource yielding each batch's arrow table into its raw table."""
    import dlt

    def rows() -> Iterator[Any]:
        for batch in batches:
            yield dlt.mark.with_table_name(batch.data, batch.table)

    return dlt.resource(rows, name=source.name, write_disposition="append")


def unwrap(exc: BaseException) -> BaseException:
    """Find our own error inside dlt's wrappers (`PipelineStepFailed`, extraction errors)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, MartlakeError):
            return current
        stack += [current.__cause__, current.__context__, getattr(current, "exception", None)]
    return exc


def load_error(source_name: str, exc: BaseException) -> MartlakeError:
    """Translate a dlt load failure."""
    inner = unwrap(exc)
    if isinstance(inner, MartlakeError):
        return inner
    first = str(inner).strip().splitlines()[0][:200] if str(inner).strip() else type(inner).__name__
    return WarehouseError(
        f"loading `raw_{source_name}` failed: {first}; the extracted rows are kept in "
        f".martlake/dlt and `martlake run --only load` retries them"
    )
