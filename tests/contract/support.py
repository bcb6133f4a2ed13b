"""Helpers of the connector contract tests: recorded requests, one extraction's tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pyarrow as pa

from martlake.sources import ExtractContext, Source


class Recorder(httpx.HTTPTransport):
    """A real transport that keeps every request (headers included) and can run a hook first."""

    def __init__(self, before: Callable[[httpx.Request], Any] | None = None) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []
        self.before = before

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before is not None:
            self.before(request)
        return super().handle_request(request)


def collect(source: Source, **ctx: Any) -> dict[str, pa.Table]:
    """Every batch of one extraction (`ExtractContext(**ctx)`, run id `run` by default),
    concatenated per raw table."""
    ctx.setdefault("run_id", "run")
    parts: dict[str, list[pa.Table]] = {}
    for batch in source.extract(ExtractContext(**ctx)):
        parts.setdefault(batch.table, []).append(batch.data)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}
