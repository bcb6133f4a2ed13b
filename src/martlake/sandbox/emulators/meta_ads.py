"""Meta Marketing API (Graph v21.0) emulator: ad account and its insights edge.

Follows https://developers.facebook.com/docs/marketing-api/insights: numbers as strings,
`actions`/`action_values` lists without zero entries, cursor paging with `paging.next` absent
on the last page, and Graph errors (`code` 190 bad token, 100 bad parameter or object) as 400.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
from bisect import bisect_left, bisect_right
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from martlake.sandbox._records import Insight
from martlake.sandbox._render import INSIGHT_FIELDS, insight_json
from martlake.sandbox.emulators._http import Request, Response, json_response
from martlake.sandbox.simulator import Business

SANDBOX_META_TOKEN = "sandbox-meta-token"
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
LEVELS = ("account", "campaign", "adset", "ad")
DERIVED_FIELDS = ("cpm", "ctr", "cpc")
ACCOUNT_FIELDS = ("id", "account_id", "name", "currency", "timezone_name", "account_status")
_ROUTE = re.compile(r"^/(?P<version>v\d+\.\d+)/act_(?P<account>[^/]+?)(?P<edge>/insights)?/?$")
_UNSUPPORTED = ("breakdowns", "filtering", "time_ranges", "action_breakdowns")
_LEVEL_KEYS = {
    "account": (),
    "campaign": ("campaign_id", "campaign_name"),
    "adset": ("campaign_id", "campaign_name", "adset_id", "adset_name"),
    "ad": ("campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name"),
}
_ALL_LEVEL_KEYS = _LEVEL_KEYS["ad"]


class _GraphError(Exception):
    def __init__(self, message: str, code: int, kind: str = "OAuthException", **extra: Any):
        super().__init__(message)
        self.message, self.code, self.kind, self.extra = message, code, kind, extra


def _bad_param(message: str) -> _GraphError:
    return _GraphError(f"(#100) {message}", 100)


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _bad_param("Invalid cursor") from exc


def _ratio(numerator: Decimal, denominator: Decimal, scale: int) -> str | None:
    if not denominator:
        return None
    return f"{numerator * scale / denominator:.6f}"


class MetaAdsApp:
    """Serves one `Business`'s Meta ad account.

    Args:
        business: The simulated shop and its ad account.
        token: The only access token accepted (`access_token` param or `Authorization: Bearer`).
    """

    def __init__(self, business: Business, token: str = SANDBOX_META_TOKEN) -> None:
        self.business = business
        self.token = token
        self._lock = threading.Lock()
        self._tables: dict[tuple[str, str, date, date], list[dict[str, Any]]] = {}
        self._trace = itertools.count(1)

    def forget_reports(self) -> None:
        """Drop cached reports, after the business's ad rows changed."""
        with self._lock:
            self._tables.clear()

    def handle(self, request: Request) -> Response:
        """Answer one request addressed to `/meta/...`."""
        try:
            return self._handle(request)
        except _GraphError as exc:
            error: dict[str, Any] = {"message": exc.message, "type": exc.kind, "code": exc.code}
            error.update(exc.extra)
            error["fbtrace_id"] = f"AsbX{next(self._trace):07d}sandbox"
            return json_response(400, {"error": error})

    def _handle(self, request: Request) -> Response:
        match = _ROUTE.match(request.path)
        if match is None:
            return json_response(
                404,
                {
                    "error": {
                        "message": f"Unknown path components: {request.path}",
                        "type": "OAuthException",
                        "code": 2500,
                    }
                },
            )
        token = request.query.get("access_token")
        auth = request.headers.get("Authorization", "")
        if token is None and auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        if not token:
            raise _GraphError("An access token is required to request this resource.", 104)
        if token != self.token:
            raise _GraphError("Invalid OAuth access token - Cannot parse access token", 190)
        account = self.business.meta_account
        if match["account"] != account["account_id"]:
            raise _GraphError(
                f"Unsupported get request. Object with ID 'act_{match['account']}' does not "
                "exist, cannot be loaded due to missing permissions, or does not support this "
                "operation. Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api",
                100,
                "GraphMethodException",
                error_subcode=33,
            )
        if request.method != "GET":
            raise _bad_param("Only GET is emulated")
        if match["edge"]:
            return self._insights(request)
        return self._account(request, account)

    def _account(self, request: Request, account: dict[str, Any]) -> Response:
        wanted = [f.strip() for f in request.query.get("fields", "").split(",") if f.strip()]
        for name in wanted:
            if name not in ACCOUNT_FIELDS:
                raise _bad_param(
                    f"Tried accessing nonexisting field ({name}) on node type (AdAccount)"
                )
        out = {"id": account["id"]}
        out.update({name: account[name] for name in wanted or ["account_id"]})
        return json_response(200, out)

    def _today(self) -> date:
        return self.business.as_of.astimezone(ZoneInfo(self.business.config.timezone)).date()

    def _range(self, query: dict[str, str]) -> tuple[date, date]:
        if "time_range" in query:
            try:
                spec = json.loads(query["time_range"])
                since = date.fromisoformat(spec["since"])
                until = date.fromisoformat(spec["until"])
            except (ValueError, KeyError, TypeError) as exc:
                raise _bad_param(
                    'Param time_range must be a JSON object like {"since":"YYYY-MM-DD",'
                    '"until":"YYYY-MM-DD"}'
                ) from exc
            if since > until:
                raise _bad_param("The start date of the time range cannot be after the end date")
            return since, until
        today = self._today()
        yesterday = today - timedelta(days=1)
        preset = query.get("date_preset", "last_30d")
        if preset == "today":
            return today, today
        if preset == "yesterday":
            return yesterday, yesterday
        if preset == "maximum":
            return self.business.config.start_date, today
        if preset == "this_month":
            return today.replace(day=1), today
        if preset == "last_month":
            last = today.replace(day=1) - timedelta(days=1)
            return last.replace(day=1), last
        days = re.fullmatch(r"last_(\d+)d", preset)
        if days is None or int(days[1]) not in (3, 7, 14, 28, 30, 90):
            raise _bad_param(f"date_preset must be one of the Graph presets, got {preset}")
        return today - timedelta(days=int(days[1])), yesterday

    def _table(self, level: str, increment: str, since: date, until: date) -> list[dict[str, Any]]:
        key = (level, increment, since, until)
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                return table
        ds = self.business._dataset()
        days = [r.day for r in ds.insights]
        lo, hi = bisect_left(days, since), bisect_right(days, until)
        if level == "ad" and increment == "1":
            table = self.business.meta_insights[lo:hi]
        else:
            table = self._aggregate(ds.insights[lo:hi], level, increment, since, until)
        with self._lock:
            if len(self._tables) > 128:
                self._tables.clear()
            self._tables[key] = table
        return table

    def _aggregate(
        self, rows: list[Insight], level: str, increment: str, since: date, until: date
    ) -> list[dict[str, Any]]:
        groups: dict[tuple[date, date, str], Insight] = {}
        for row in rows:
            if increment == "1":
                period = (row.day, row.day)
            elif increment == "monthly":
                first = row.day.replace(day=1)
                last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
                period = (max(first, since), min(last, until))
            else:
                period = (since, until)
            entity = {"account": "", "campaign": row.campaign.id, "adset": row.ad.adset_id}.get(
                level, row.ad.id
            )
            key = (*period, entity)
            seen = groups.get(key)
            if seen is None:
                groups[key] = replace(row, day=period[0])
            else:
                for name in (
                    "spend", "impressions", "clicks", "link_clicks", "landing_page_views",
                    "add_to_carts", "purchases", "purchase_value",
                ):  # fmt: skip
                    setattr(seen, name, getattr(seen, name) + getattr(row, name))
        ds = self.business._dataset()
        dropped = [k for k in _ALL_LEVEL_KEYS if k not in _LEVEL_KEYS[level]]
        table: list[dict[str, Any]] = []
        for (start, stop, _entity), agg in sorted(groups.items(), key=lambda kv: kv[0]):
            out = insight_json(agg, ds)
            for name in dropped:
                out.pop(name, None)
            out["date_start"], out["date_stop"] = start.isoformat(), stop.isoformat()
            table.append(out)
        return table

    def _insights(self, request: Request) -> Response:
        query = request.query
        for name in _UNSUPPORTED:
            if name in query:
                raise _bad_param(f"{name} is not supported by the martlake sandbox")
        level = query.get("level", "account")
        if level not in LEVELS:
            raise _bad_param(f"Param level must be one of {{{', '.join(LEVELS)}}}")
        increment = query.get("time_increment", "all_days")
        if increment not in ("1", "all_days", "monthly"):
            raise _bad_param("Param time_increment must be 1, monthly or all_days in the sandbox")
        fields = [f.strip() for f in query.get("fields", "spend,impressions").split(",")]
        fields = [f for f in fields if f]
        allowed = set(INSIGHT_FIELDS) | set(DERIVED_FIELDS) | {"date_start", "date_stop"}
        for name in fields:
            if name not in allowed:
                raise _bad_param(
                    f"{name} is not valid for fields param. please check "
                    "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ "
                    "for all valid values"
                )
        try:
            limit = min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        except ValueError as exc:
            raise _bad_param("Param limit must be an integer") from exc
        if limit < 1:
            raise _bad_param("Param limit must be a positive integer")
        since, until = self._range(query)
        table = self._table(level, increment, since, until)
        if "after" in query:
            start = _decode_cursor(query["after"]) + 1
        elif "before" in query:
            start = max(0, _decode_cursor(query["before"]) - limit)
        else:
            start = 0
        if start < 0 or start > len(table):
            raise _bad_param("Invalid cursor")
        end = min(start + limit, len(table))
        if "before" in query:
            end = min(end, _decode_cursor(query["before"]))
        data = [self._project(row, fields) for row in table[start:end]]
        payload: dict[str, Any] = {"data": data}
        if data:
            before, after = _encode_cursor(start), _encode_cursor(end - 1)
            paging: dict[str, Any] = {"cursors": {"before": before, "after": after}}
            base = {k: v for k, v in query.items() if k not in ("after", "before")}
            url = f"{request.base_url}{request.path}"
            if start > 0:
                paging["previous"] = f"{url}?{urlencode({**base, 'before': before})}"
            if end < len(table):
                paging["next"] = f"{url}?{urlencode({**base, 'after': after})}"
            payload["paging"] = paging
        return json_response(200, payload)

    @staticmethod
    def _project(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in fields:
            if name in DERIVED_FIELDS:
                spend, impressions = Decimal(row["spend"]), Decimal(row["impressions"])
                clicks = Decimal(row["clicks"])
                value = {
                    "cpm": _ratio(spend, impressions, 1000),
                    "ctr": _ratio(clicks, impressions, 100),
                    "cpc": _ratio(spend, clicks, 1),
                }[name]
                if value is not None:
                    out[name] = value
            elif name in row:
                out[name] = row[name]
        out["date_start"] = row["date_start"]
        out["date_stop"] = row["date_stop"]
        return out
