"""TikTok API for Business (v1.3) emulator: `advertiser/info/` and `report/integrated/get/`.

Checked against TikTok's API for Business pages "Get advertiser info", "Run a synchronous
report", "Reporting metrics" and "Return codes", and against connectors that read them (the
Airbyte TikTok Marketing source and its tests):

- Every answer is HTTP 200 with `{"code", "message", "request_id", "data"}`; `code` 0 is
  success, anything else an error with `data` empty. Codes served: 40001 no permission to
  operate the advertiser, 40002 bad parameter (also a date range longer than the API allows),
  40104 empty access token, 40105 access token incorrect or revoked, 40100 the QPS limit (as a
  scripted fault, see `EmulatorServer.inject_fault`), 50000 system error (the fault answers
  it with HTTP 500).
- The access token goes in the `Access-Token` header; list parameters (`advertiser_ids`,
  `fields`, `dimensions`, `metrics`) are JSON arrays in the query string.
- Report rows are `{"dimensions": {...}, "metrics": {...}}` with every value a string;
  `stat_time_day` reads `YYYY-MM-DD 00:00:00`; at ad level, campaign/ad group ids and names
  and `ad_name` are requested as metrics. With `stat_time_day` a request spans at most 30
  days (here: `end_date - start_date` ≤ 30). Paging is `page`/`page_size` (≤ 1000, default
  10) with `page_info` {page, page_size, total_number, total_page}. Rows with neither spend
  nor impressions are not returned.
- The value of web purchases is the metric `total_complete_payment_rate` (TikTok's name for
  the Complete Payment value, not a rate); `complete_payment` counts those events and
  `conversion` the optimisation event (the same event in this shop); `total_purchase_value`
  is in-app purchase value, 0 for a web shop.

Reports cover `data_level` AUCTION_AD, AUCTION_ADGROUP, AUCTION_CAMPAIGN and
AUCTION_ADVERTISER of `report_type` BASIC, without `filtering`. `drift` (see `DRIFT_KINDS`)
changes the report rows the way an API release would: an unasked metric, `spend` renamed to
`cost`, numbers as JSON numbers, or `"-"` (TikTok's "no value") for zero metrics.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from datetime import date
from typing import Any

from martlake.sandbox._records import TikTokStat
from martlake.sandbox._render import TIKTOK_METRICS, tiktok_metrics
from martlake.sandbox.emulators._http import Request, Response, json_response
from martlake.sandbox.simulator import Business

SANDBOX_TIKTOK_TOKEN = "sandbox-tiktok-token"
VERSION = "v1.3"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
MAX_DAILY_SPAN_DAYS = 30
MAX_SPAN_DAYS = 365
ADVERTISER_FIELDS = (
    "advertiser_id",
    "name",
    "company",
    "status",
    "role",
    "country",
    "currency",
    "timezone",
    "display_timezone",
)
# data_level -> (id dimension, attributes requestable as metrics)
LEVELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "AUCTION_AD": (
        "ad_id",
        ("campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name"),
    ),
    "AUCTION_ADGROUP": ("adgroup_id", ("campaign_id", "campaign_name", "adgroup_name")),
    "AUCTION_CAMPAIGN": ("campaign_id", ("campaign_name",)),
    "AUCTION_ADVERTISER": ("advertiser_id", ()),
}
_PREFIX = f"/open_api/{VERSION}/"
DRIFT_KINDS = frozenset({"new_field", "renamed_field", "numbers_as_strings", "dash_values"})
NEW_FIELD = "billed_cost"
"""The metric every report row gains under `new_field` drift, unasked."""


def _number(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def _drifted(row: dict[str, Any], drift: frozenset[str]) -> dict[str, Any]:
    metrics = dict(row["metrics"])
    if "dash_values" in drift:
        metrics = {
            k: "-" if k in TIKTOK_METRICS and v in ("0", "0.00") else v for k, v in metrics.items()
        }
    if "numbers_as_strings" in drift:
        metrics = {k: _number(v) if isinstance(v, str) else v for k, v in metrics.items()}
    if "renamed_field" in drift and "spend" in metrics:
        metrics["cost"] = metrics.pop("spend")
    if "new_field" in drift:
        metrics[NEW_FIELD] = metrics.get("cost", metrics.get("spend", "0.00"))
    return {"dimensions": row["dimensions"], "metrics": metrics}


class _ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _bad_param(message: str) -> _ApiError:
    return _ApiError(40002, message)


def _json_list(query: dict[str, str], name: str, default: list[str] | None = None) -> list[str]:
    raw = query.get(name)
    if raw is None:
        if default is None:
            raise _bad_param(f"{name}: Missing data for required field.")
        return default
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise _bad_param(f"{name}: Not a valid list; send a JSON array.") from exc
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise _bad_param(f"{name}: Not a valid list; send a JSON array.")
    return [str(v) for v in value]


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise _bad_param(f"{name}: Not a valid integer.") from exc
    if not low <= value <= high:
        raise _bad_param(f"{name}: Must be greater than or equal to {low} and at most {high}.")
    return value


def _date_param(query: dict[str, str], name: str) -> date:
    raw = query.get(name)
    if raw is None:
        raise _bad_param(f"{name}: Missing data for required field.")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise _bad_param(f"{name}: Not a valid date, use YYYY-MM-DD.") from exc


class TikTokAdsApp:
    """Serves one `Business`'s TikTok advertiser.

    Args:
        business: The simulated shop and its ad accounts.
        token: The only access token accepted in the `Access-Token` header.

    Attributes:
        error_http_status: HTTP status of answers carrying an error code: 200 as TikTok
            normally sends them, or a 5xx as its gateway does during incidents.
    """

    def __init__(self, business: Business, token: str = SANDBOX_TIKTOK_TOKEN) -> None:
        self.business = business
        self.token = token
        self.drift: frozenset[str] = frozenset()
        self.error_http_status = 200
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._tables: dict[tuple[str, tuple[str, ...], date, date], list[dict[str, Any]]] = {}

    def forget_reports(self) -> None:
        """Drop cached reports, after the business's ad rows changed."""
        with self._lock:
            self._tables.clear()

    def request_id(self) -> str:
        """A fresh request id in TikTok's style (a timestamp-like digit string)."""
        return f"2025010100000{next(self._counter):07d}5A1B"

    def error(self, code: int, message: str) -> dict[str, Any]:
        """The body TikTok sends for a failed call."""
        return {"code": code, "message": message, "request_id": self.request_id(), "data": {}}

    def handle(self, request: Request) -> Response:
        """Answer one request addressed to `/tiktok/...`."""
        path = request.path if request.path.endswith("/") else f"{request.path}/"
        if not path.startswith(_PREFIX) or path[len(_PREFIX) :] not in (
            "advertiser/info/",
            "report/integrated/get/",
        ):
            return json_response(
                404, {"code": 40400, "message": f"Not found: {request.path}", "data": {}}
            )
        try:
            if request.method != "GET":
                raise _ApiError(40002, f"Method {request.method} is not allowed; use GET.")
            token = request.headers.get("Access-Token", "")
            if not token:
                raise _ApiError(40104, "Access token is null, please set the Access-Token header.")
            if token != self.token:
                raise _ApiError(40105, "Access token is incorrect or has been revoked.")
            if path.endswith("advertiser/info/"):
                data = self._advertiser_info(request.query)
            else:
                data = self._report(request.query)
        except _ApiError as exc:
            return json_response(self.error_http_status, self.error(exc.code, exc.message))
        return json_response(
            200, {"code": 0, "message": "OK", "request_id": self.request_id(), "data": data}
        )

    def _check_advertiser(self, advertiser_id: str) -> None:
        if advertiser_id != self.business.config.tiktok_advertiser_id:
            raise _ApiError(40001, f"No permission to operate advertiser {advertiser_id}.")

    def _advertiser_info(self, query: dict[str, str]) -> dict[str, Any]:
        ids = _json_list(query, "advertiser_ids")
        if not 1 <= len(ids) <= 100:
            raise _bad_param("advertiser_ids: Length must be between 1 and 100.")
        fields = _json_list(query, "fields", list(ADVERTISER_FIELDS))
        for name in fields:
            if name not in ADVERTISER_FIELDS:
                raise _bad_param(f"fields: Invalid field {name}.")
        for advertiser_id in ids:
            self._check_advertiser(advertiser_id)
        advertiser = self.business.tiktok_advertiser
        return {"list": [{name: advertiser[name] for name in fields} for _ in ids]}

    def _report(self, query: dict[str, str]) -> dict[str, Any]:
        if "advertiser_id" not in query:
            raise _bad_param("advertiser_id: Missing data for required field.")
        if query.get("report_type") != "BASIC":
            raise _bad_param("report_type: the martlake sandbox serves BASIC reports only.")
        if query.get("service_type", "AUCTION") != "AUCTION":
            raise _bad_param("service_type: the martlake sandbox serves AUCTION only.")
        if "filtering" in query:
            raise _bad_param("filtering: not supported by the martlake sandbox.")
        level = query.get("data_level", "AUCTION_ADVERTISER")
        if level not in LEVELS:
            raise _bad_param(f"data_level: Must be one of {', '.join(LEVELS)}.")
        id_dimension, attributes = LEVELS[level]
        dimensions = _json_list(query, "dimensions")
        if not dimensions or any(d not in (id_dimension, "stat_time_day") for d in dimensions):
            raise _bad_param(
                f"dimensions: at {level} use {id_dimension} and/or stat_time_day, got "
                f"{json.dumps(dimensions)}."
            )
        metrics = _json_list(query, "metrics", ["spend", "impressions"])
        for name in metrics:
            if name not in TIKTOK_METRICS and name not in attributes:
                raise _bad_param(f"metrics: Invalid metric {name} for data_level {level}.")
        if id_dimension not in dimensions and any(m in attributes for m in metrics):
            raise _bad_param(f"metrics: attribute metrics need the {id_dimension} dimension.")
        self._check_advertiser(query["advertiser_id"])
        page = _int_param(query, "page", 1, 1, 10**6)
        page_size = _int_param(query, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        if query.get("query_lifetime", "false").lower() == "true":
            if "stat_time_day" in dimensions:
                raise _bad_param("stat_time_day cannot be used with query_lifetime.")
            since, until = self.business.config.start_date, date.max
        else:
            since, until = _date_param(query, "start_date"), _date_param(query, "end_date")
            if until < since:
                raise _bad_param("end_date must not be earlier than start_date.")
            span = MAX_DAILY_SPAN_DAYS if "stat_time_day" in dimensions else MAX_SPAN_DAYS
            if (until - since).days > span:
                raise _bad_param(
                    f"The time span between start_date and end_date cannot exceed {span} days"
                    + (
                        " when stat_time_day is a dimension."
                        if span == MAX_DAILY_SPAN_DAYS
                        else "."
                    )
                )
        table = self._table(level, tuple(dimensions), since, until)
        rows = [
            {
                "dimensions": row["dimensions"],
                "metrics": {name: row["metrics"][name] for name in metrics},
            }
            for row in table[(page - 1) * page_size : page * page_size]
        ]
        drift = self.drift
        return {
            "list": [_drifted(row, drift) for row in rows] if drift else rows,
            "page_info": {
                "page": page,
                "page_size": page_size,
                "total_number": len(table),
                "total_page": math.ceil(len(table) / page_size),
            },
        }

    def _table(
        self, level: str, dimensions: tuple[str, ...], since: date, until: date
    ) -> list[dict[str, Any]]:
        key = (level, dimensions, since, until)
        with self._lock:
            table = self._tables.get(key)
        if table is not None:
            return table
        if level == "AUCTION_AD" and set(dimensions) == {"ad_id", "stat_time_day"}:
            table = [
                {
                    "dimensions": {d: row["dimensions"][d] for d in dimensions},
                    "metrics": row["metrics"],
                }
                for row in self.business.tiktok_ad_stats
                if since.isoformat() <= row["dimensions"]["stat_time_day"][:10] <= until.isoformat()
            ]
        else:
            table = self._aggregate(level, dimensions, since, until)
        with self._lock:
            if len(self._tables) > 128:
                self._tables.clear()
            self._tables[key] = table
        return table

    def _aggregate(
        self, level: str, dimensions: tuple[str, ...], since: date, until: date
    ) -> list[dict[str, Any]]:
        id_dimension, attributes = LEVELS[level]
        advertiser_id = self.business.config.tiktok_advertiser_id
        groups: dict[tuple[str, str], list[TikTokStat]] = {}
        for row in self.business._dataset().tiktok_stats:
            if not since <= row.day <= until:
                continue
            entity = {
                "ad_id": row.ad.id,
                "adgroup_id": row.ad.adgroup_id,
                "campaign_id": row.campaign.id,
                "advertiser_id": advertiser_id,
            }[id_dimension]
            day = row.day.isoformat() if "stat_time_day" in dimensions else ""
            ids = entity if id_dimension in dimensions else ""
            groups.setdefault((day, ids), []).append(row)
        table: list[dict[str, Any]] = []
        for (day, entity), rows in sorted(
            groups.items(), key=lambda kv: (kv[0][0], int(kv[0][1] or 0))
        ):
            first = rows[0]
            dims: dict[str, str] = {}
            if entity:
                dims[id_dimension] = entity
            if day:
                dims["stat_time_day"] = f"{day} 00:00:00"
            values = {
                "campaign_id": first.campaign.id,
                "campaign_name": first.campaign.name,
                "adgroup_id": first.ad.adgroup_id,
                "adgroup_name": first.ad.adgroup_name,
                "ad_name": first.ad.name,
            }
            metrics: dict[str, str] = {name: values[name] for name in attributes} if entity else {}
            metrics.update(
                tiktok_metrics(
                    sum(r.spend for r in rows),
                    sum(r.impressions for r in rows),
                    sum(r.clicks for r in rows),
                    sum(r.conversions for r in rows),
                    sum(r.value for r in rows),
                )
            )
            table.append({"dimensions": dims, "metrics": metrics})
        return table
