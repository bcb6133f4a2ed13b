"""dlt wiring: one dlt pipeline per source, working files under `.martlake/dlt`."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import Any

import pyarrow as pa

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


COALESCE_ROWS = 50_000
"""Batches of one table are handed to dlt in chunks of about this many rows: dlt's cost per
item (a file write and schema checks) dwarfs a small page's rows."""


def coalesce(batches: Iterator[Batch], rows: int = COALESCE_ROWS) -> Iterator[Batch]:
    """The same rows in fewer, larger batches: per table, in arrival order.

    A table's batches are concatenated until they hold at least `rows` rows; what is left is
    yielded at the end. A batch whose schema differs from the buffered ones flushes them first.
    """
    pending: dict[str, list[pa.Table]] = {}
    counts: dict[str, int] = {}
    for batch in batches:
        buffered = pending.setdefault(batch.table, [])
        if buffered and not buffered[0].schema.equals(batch.data.schema):
            yield Batch(batch.table, pa.concat_tables(buffered))
            buffered.clear()
            counts[batch.table] = 0
        buffered.append(batch.data)
        counts[batch.table] = counts.get(batch.table, 0) + batch.data.num_rows
        if counts[batch.table] >= rows:
            yield Batch(batch.table, pa.concat_tables(buffered))
            buffered.clear()
            counts[batch.table] = 0
    for table, buffered in pending.items():
        if buffered:
            yield Batch(table, pa.concat_tables(buffered))


PREFETCH = 2
"""Coalesced batches a worker thread may read ahead of dlt."""


def prefetched(batches: Iterator[Batch], depth: int = PREFETCH) -> Iterator[Batch]:
    """The same batches, read by a worker thread up to `depth` ahead.

    The source fetches and converts pages (HTTP, DuckDB and Arrow release the GIL) while dlt
    writes the previous batch, so extraction uses a second core. The source's errors are
    raised here, in order; when the consumer stops early, the worker stops after its current
    batch.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def work() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(("error", exc))
            return
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()
        put(("done", None))

    worker = threading.Thread(target=work, name="martlake-extract", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=30)


def dlt_resource(source: Source, batches: Iterator[Batch]) -> Any:
    """An append-only dlt resource yielding the batches' arrow tables into their raw tables;
    the batches are read ahead in a worker thread (`prefetched`)."""
    import dlt

    def items() -> Iterator[Any]:
        for batch in prefetched(coalesce(batches)):
            yield dlt.mark.with_table_name(batch.data, batch.table)

    return dlt.resource(items, name=source.name, write_disposition="append")


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
