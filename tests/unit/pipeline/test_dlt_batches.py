"""Batches reach dlt coalesced per table, read ahead by a worker thread, with every row kept in
arrival order."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from martlake.errors import SourceContractError
from martlake.pipeline._dlt import coalesce, prefetched
from martlake.sources import Batch
from martlake.sources._http import decode_json

INT64 = pa.int64()


def batch(table: str, values: list[int], dtype: pa.DataType = INT64) -> Batch:
    return Batch(table, pa.table({"v": pa.array(values, dtype)}))


def test_small_batches_are_joined_per_table_until_the_row_target() -> None:
    batches = [batch("a", [1, 2]), batch("b", [10]), batch("a", [3]), batch("a", [4, 5])]
    out = list(coalesce(iter(batches), rows=3))
    assert [(b.table, b.data.column("v").to_pylist()) for b in out] == [
        ("a", [1, 2, 3]),
        ("a", [4, 5]),
        ("b", [10]),
    ]


def test_a_batch_with_another_schema_flushes_what_is_buffered() -> None:
    batches = [batch("a", [1]), batch("a", [2], pa.int32()), batch("a", [3], pa.int32())]
    out = list(coalesce(iter(batches), rows=100))
    assert [b.data.column("v").to_pylist() for b in out] == [[1], [2, 3]]
    assert sum(b.data.num_rows for b in out) == 3


def test_json_bodies_with_huge_integers_still_decode() -> None:
    assert decode_json(b'{"id": 123}') == {"id": 123}
    huge = 123456789012345678901234567890
    assert decode_json(b'{"id": %d}' % huge)["id"] == huge
    assert str(decode_json(b'{"ctr": NaN}')["ctr"]) == "nan"


def test_prefetched_batches_arrive_in_order_from_another_thread() -> None:
    threads: list[str] = []

    def produce() -> Iterator[Batch]:
        for i in range(20):
            threads.append(threading.current_thread().name)
            yield batch("a", [i])

    out = [b.data.column("v").to_pylist()[0] for b in prefetched(produce(), depth=2)]
    assert out == list(range(20))
    assert set(threads) == {"martlake-extract"}


def test_a_source_error_is_raised_to_the_consumer_after_the_batches_before_it() -> None:
    def produce() -> Iterator[Batch]:
        yield batch("a", [1])
        raise SourceContractError("shopify: `orders` rows lack the required field `id`")

    got = []
    with pytest.raises(SourceContractError, match="required field"):
        for b in prefetched(produce()):
            got.append(b.data.num_rows)
    assert got == [1]


def test_a_consumer_that_stops_early_stops_and_closes_the_source() -> None:
    closed = threading.Event()

    def produce() -> Iterator[Batch]:
        try:
            for i in range(1000):
                yield batch("a", [i])
        finally:
            closed.set()

    stream = prefetched(produce(), depth=1)
    assert next(stream).data.num_rows == 1
    stream.close()
    assert closed.wait(5)
