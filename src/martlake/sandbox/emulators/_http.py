"""The tiny request/response model the emulator apps share with the HTTP server."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only request headers."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = {name.lower(): value for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Request:
    """One HTTP request, as an emulator app sees it.

    `path` is relative to the app's prefix (`/admin/api/2024-10/orders.json`), `base_url` is the
    app's absolute root as the client addressed it (`http://127.0.0.1:5432/shopify`), `body` the
    raw request body.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    base_url: str
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A JSON response with compact separators, like the vendors send."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, headers or [])
