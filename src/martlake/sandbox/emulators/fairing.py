"""Fairing API emulator: `GET /api/responses`, the post-purchase survey responses.

What it serves:

- The token goes in the `Authorization` header as it is (no scheme); a missing or wrong one is
  HTTP 401 `{"error": "Unauthorized"}`.
- `since` and `until` (ISO 8601; a time without offset is UTC) filter on `inserted_at`, since
  inclusive and until exclusive; `limit` is 1 to 100 (default 100); `after` (a response id)
  asks for the page of responses older than it, `before` for the page newer than it. A bad
  parameter, an unknown cursor or both cursors at once is HTTP 400 `{"error": "..."}`.
- Responses come newest first (`inserted_at`, then `id`, descending) as
  `{"data": [...], "next": url | null, "prev": url | null}`: `next` is this URL with
  `after=<last id of the page>` while older responses remain, `prev` the URL with
  `before=<first id>` while newer ones exist.
- Only responses inserted by the business's `as_of` exist.

`drift` (see `DRIFT_KINDS` of the server) changes the records the way an API release would: an
unasked field (`new_field`), `inserted_at` renamed to `created_at` (`renamed_field`), numbers
as strings and the amount as a number (`numbers_as_strings`); `dash_values` changes nothing
(responses have no metrics).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from martlake.sandbox.emulators._http import Request, Response, json_response
from martlake.sandbox.simulator import Business

SANDBOX_FAIRING_TOKEN = "sandbox-fairing-token"
PATH = "/api/responses"
DEFAULT_LIMIT = 100
MAX_LIMIT = 100
NEW_FIELD = "survey_version"
"""The field every record gains under `new_field` drift."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBERS = ("question_id", "referring_question_id", "response_id", "customer_order_count")

Key = tuple[int, str]
"""(`inserted_at` in microseconds since the epoch, `id`): what responses are ordered by."""


class _BadRequest(Exception):
    pass


def _micros(text: str) -> int:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _time_param(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return _micros(raw)
    except ValueError:
        raise _BadRequest(f"`{name}` must be an ISO 8601 timestamp, got `{raw}`") from None


def _drifted(record: dict[str, Any], drift: frozenset[str]) -> dict[str, Any]:
    out = dict(record)
    if "numbers_as_strings" in drift:
        for name in _NUMBERS:
            if out[name] is not None:
                out[name] = str(out[name])
        out["order_total"] = float(out["order_total"])
    if "renamed_field" in drift:
        out["created_at"] = out.pop("inserted_at")
    if "new_field" in drift:
        out[NEW_FIELD] = 2
    return out


class FairingApp:
    """Serves one `Business`'s survey responses.

    Args:
        business: The simulated shop.
        token: The only API token accepted in the `Authorization` header.
    """

    def __init__(self, business: Business, token: str = SANDBOX_FAIRING_TOKEN) -> None:
        self.business = business
        self.token = token
        self.drift: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._index: tuple[list[Key], list[dict[str, Any]], dict[str, int]] | None = None

    def handle(self, request: Request) -> Response:
        """Answer one request addressed to `/fairing/...`."""
        if request.path.rstrip("/") != PATH:
            return json_response(404, {"error": f"Not found: {request.path}"})
        if request.method != "GET":
            return json_response(405, {"error": f"Method {request.method} not allowed"})
        if request.headers.get("Authorization", "") != self.token:
            return json_response(401, {"error": "Unauthorized"})
        try:
            body = self._responses(request)
        except _BadRequest as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, body)

    def _ascending(self) -> tuple[list[Key], list[dict[str, Any]], dict[str, int]]:
        """Keys and records oldest first, and each id's position."""
        with self._lock:
            if self._index is None:
                records = list(reversed(self.business.fairing_responses))
                keys = [(_micros(r["inserted_at"]), r["id"]) for r in records]
                self._index = (keys, records, {key[1]: i for i, key in enumerate(keys)})
            return self._index

    def _responses(self, request: Request) -> dict[str, Any]:
        query = request.query
        raw_limit = query.get("limit", str(DEFAULT_LIMIT))
        try:
            limit = int(raw_limit)
        except ValueError:
            raise _BadRequest(f"`limit` must be an integer, got `{raw_limit}`") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise _BadRequest(f"`limit` must be between 1 and {MAX_LIMIT}, got {limit}")
        since, until = _time_param(query, "since"), _time_param(query, "until")
        after, before = query.get("after"), query.get("before")
        if after and before:
            raise _BadRequest("use `after` or `before`, not both")
        keys, records, position = self._ascending()
        low = 0 if since is None else bisect_left(keys, (since, ""))
        high = len(keys) if until is None else bisect_left(keys, (until, ""))
        at = 0
        cursor = after or before
        if cursor:
            if cursor not in position:
                which = "after" if after else "before"
                raise _BadRequest(f"unknown response id `{cursor}` in `{which}`")
            at = position[cursor]
        if after:
            end = min(at, high)
            start = max(low, end - limit)
        elif before:
            start = max(at + 1, low)
            end = max(min(start + limit, high), start)
        else:
            end = high
            start = max(low, end - limit)
        page = [records[i] for i in range(end - 1, start - 1, -1)]
        drift = self.drift
        base = {k: v for k, v in query.items() if k not in ("after", "before")}
        url = f"{request.base_url}{PATH}?"
        older = bool(page) and start > low
        newer = bool(page) and end < high
        return {
            "data": [_drifted(r, drift) for r in page] if drift else page,
            "next": url + urlencode({**base, "after": page[-1]["id"]}) if older else None,
            "prev": url + urlencode({**base, "before": page[0]["id"]}) if newer else None,
        }
