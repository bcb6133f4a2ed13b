"""Batches reach dlt coalesced per table, with every row kept in arrival order."""

from __future__ import annotations

import pyarrow as pa

from martlake.pipeline._dlt import coalesce
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
