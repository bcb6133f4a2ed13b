"""Meta Marketing API (Graph v21.0) emulator: ad account, its insights edge and async report runs.

Follows https://developers.facebook.com/docs/marketing-api/insights: numbers as strings,
`actions`/`action_values` lists without zero entries, per-window keys on them when
`action_attribution_windows` is asked for, cursor paging with `paging.next` absent on the last
page, async report runs (`POST /act_<id>/insights` -> `report_run_id`, `GET /<run>` until
`Job Completed`, then `GET /<run>/insights`), Graph errors (`code` 190 bad token, 100 bad
parameter or object) as 400, and Meta's throttling answers (codes 4, 17, 32, 613, 80000, 80004:
400 with a usage header).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode
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
REPORT_RUN_FIELDS = (
    "id", "account_id", "async_status", "async_percent_completion", "date_start", "date_stop",
    "time_ref", "time_completed", "is_running",
)  # fmt: skip
ATTRIBUTION_WINDOWS = (
    "1d_click",
    "7d_click",
    "28d_click",
    "1d_view",
    "7d_view",
    "28d_view",
    "1d_ev",
)
THROTTLE_CODES = (4, 17, 32, 613, 80000, 80004)
JobOutcome = Literal["Job Completed", "Job Failed", "Job Skipped"]
_ROUTE = re.compile(r"^/(?P<version>v\d+\.\d+)/act_(?P<account>[^/]+?)(?P<edge>/insights)?/?$")
_RUN_ROUTE = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<run>\d+)(?P<edge>/insights)?/?$")
_UNSUPPORTED = ("breakdowns", "filtering", "time_ranges")
_LEVEL_KEYS = {
    "account": (),
    "campaign": ("campaign_id", "campaign_name"),
    "adset": ("campaign_id", "campaign_name", "adset_id", "adset_name"),
    "ad": ("campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name"),
}
_ALL_LEVEL_KEYS = _LEVEL_KEYS["ad"]
_METRICS = ("spend", "impressions", "clicks")
_IDS = ("account_id", "campaign_id", "adset_id", "ad_id")
# https://developers.facebook.com/docs/graph-api/overview/rate-limiting (error codes and the
# header each limit reports its usage in).
_THROTTLES: dict[int, tuple[str, int | None, str]] = {
    4: ("(#4) Application request limit reached", 1504022, "x-app-usage"),
    17: ("(#17) User request limit reached", 2446079, "x-business-use-case-usage"),
    32: ("(#32) Page request limit reached", None, "x-business-use-case-usage"),
    613: (
        "(#613) Calls to this api have exceeded the rate limit.",
        1487742,
        "x-business-use-case-usage",
    ),
    80000: (
        "(#80000) There have been too many calls from this ad-account. Wait a bit and try again.",
        2446079,
        "x-business-use-case-usage",
    ),
    80004: (
        "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
        2446079,
        "x-business-use-case-usage",
    ),
}


class _GraphError(Exception):
    def __init__(
        self,
        message: str,
        code: int,
        kind: str = "OAuthException",
        status: int = 400,
        **extra: Any,
    ):
        super().__init__(message)
        self.message, self.code, self.kind, self.extra = message, code, kind, extra
        self.status = status


def _bad_param(message: str) -> _GraphError:
    return _GraphError(f"(#100) {message}", 100)


def _no_object(object_id: str) -> _GraphError:
    return _GraphError(
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        "GraphMethodException",
        error_subcode=33,
    )


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


def _list_param(query: dict[str, str], name: str) -> list[str] | None:
    """A Graph list parameter, sent as a JSON array or comma-separated."""
    raw = query.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError as exc:
            raise _bad_param(f"Param {name} must be an array") from exc
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _bad_param(f"Param {name} must be an array of strings")
        return values
    return [v.strip() for v in text.split(",") if v.strip()]


def _split(amount: int, window: str) -> int:
    """The part of a conversion count (or cents) credited to one attribution window.

    The simulated ad sets use 7-day click / 1-day view, so `value` = `7d_click` + `1d_view`;
    the other windows are plausible, fixed fractions around them.
    """
    view = amount // 5
    click = amount - view
    return {
        "1d_click": click - click // 4,
        "7d_click": click,
        "28d_click": click + amount // 10,
        "1d_view": view,
        "7d_view": view + view // 2,
        "28d_view": view + view // 2 + view // 3,
        "1d_ev": amount // 20,
    }[window]


def _windowed(entries: list[dict[str, Any]], windows: list[str], money: bool) -> list[Any]:
    out = []
    for entry in entries:
        value = entry["value"]
        amount = int(Decimal(str(value)) * 100) if money else int(value)
        extra = {}
        for window in windows:
            part = _split(amount, window)
            extra[window] = f"{Decimal(part) / 100:.2f}" if money else str(part)
        out.append({**entry, **extra})
    return out


@dataclass(frozen=True)
class _Report:
    level: str
    increment: str
    since: date
    until: date
    fields: list[str]
    windows: list[str]


@dataclass
class _ReportRun:
    id: str
    params: dict[str, str]
    report: _Report
    table: list[dict[str, Any]]
    outcome: JobOutcome
    polls: int = 0


class MetaAdsApp:
    """Serves one `Business`'s Meta ad account.

    Args:
        business: The simulated shop and its ad account.
        token: The only access token accepted (`access_token` param or `Authorization: Bearer`).

    Attributes:
        drift: Schema-drift faults to serve (`new_field`, `renamed_field`,
            `numbers_as_strings`, `dash_values`); empty serves the documented payload.
        job_polls: Status reads an async report run answers unfinished before it ends.
        max_sync_rows: Synchronous insights reports larger than this fail with Meta's HTTP 500
            "Please reduce the amount of data you're asking for" (code 1); None: no limit.
    """

    def __init__(self, business: Business, token: str = SANDBOX_META_TOKEN) -> None:
        self.business = business
        self.token = token
        self.drift: frozenset[str] = frozenset()
        self.job_polls = 2
        self.max_sync_rows: int | None = None
        self._lock = threading.Lock()
        self._tables: dict[tuple[str, str, date, date], list[dict[str, Any]]] = {}
        self._trace = itertools.count(1)
        self._run_ids = itertools.count(6_023_920_149_050)
        self._runs: dict[str, _ReportRun] = {}
        self._failing: deque[JobOutcome] = deque()
        self._throttles: deque[tuple[int, float, int]] = deque()

    def forget_reports(self) -> None:
        """Drop cached reports, after the business's ad rows changed."""
        with self._lock:
            self._tables.clear()

    def fail_next_jobs(self, n: int, status: JobOutcome = "Job Failed") -> None:
        """Make the next `n` async report runs end with `status` instead of `Job Completed`."""
        if status not in ("Job Failed", "Job Skipped"):
            raise ValueError(f"`{status}` is not a failure: use `Job Failed` or `Job Skipped`")
        with self._lock:
            self._failing.extend([status] * n)

    def throttle(
        self, code: int, times: int = 1, regain_minutes: float = 0, status: int = 400
    ) -> None:
        """Answer the next `times` requests with Meta's throttling error `code`.

        Each is HTTP `status` (400; Meta also answers code 4 with 403) with the Graph error
        body and the usage header Meta sends with that code: `x-app-usage` for 4,
        `x-business-use-case-usage` (with `estimated_time_to_regain_access` = `regain_minutes`)
        for 17, 32, 613, 80000 and 80004.
        """
        if code not in _THROTTLES:
            raise ValueError(f"`{code}` is not a Meta throttling code: use one of {THROTTLE_CODES}")
        with self._lock:
            self._throttles.extend([(code, regain_minutes, status)] * times)

    def report_run_params(self, report_run_id: str) -> dict[str, str]:
        """The parameters an async report run was created with."""
        return dict(self._runs[report_run_id].params)

    def handle(self, request: Request) -> Response:
        """Answer one request addressed to `/meta/...`."""
        try:
            return self._handle(request)
        except _GraphError as exc:
            error: dict[str, Any] = {"message": exc.message, "type": exc.kind, "code": exc.code}
            error.update(exc.extra)
            error["fbtrace_id"] = f"AsbX{next(self._trace):07d}sandbox"
            return json_response(exc.status, {"error": error})

    def _handle(self, request: Request) -> Response:
        match = _ROUTE.match(request.path)
        run_match = None if match else _RUN_ROUTE.match(request.path)
        if match is None and run_match is None:
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
        query = dict(request.query)
        if request.method == "POST" and request.body:
            # Graph takes parameters from the query string or a form-encoded body alike.
            query.update(parse_qsl(request.body.decode(), keep_blank_values=True))
        token = query.get("access_token")
        auth = request.headers.get("Authorization", "")
        if token is None and auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        if not token:
            raise _GraphError("An access token is required to request this resource.", 104)
        if token != self.token:
            raise _GraphError("Invalid OAuth access token - Cannot parse access token", 190)
        throttled = self._take_throttle()
        if throttled is not None:
            return throttled
        if run_match is not None:
            if request.method != "GET":
                raise _bad_param("Only GET is emulated on report runs")
            run = self._runs.get(run_match["run"])
            if run is None:
                raise _no_object(run_match["run"])
            if run_match["edge"]:
                return self._run_insights(request, query, run)
            return self._run_status(query, run)
        assert match is not None
        account = self.business.meta_account
        if match["account"] != account["account_id"]:
            raise _no_object(f"act_{match['account']}")
        if match["edge"] and request.method == "POST":
            return self._create_run(query)
        if request.method != "GET":
            raise _bad_param("Only GET is emulated, and POST on the insights edge")
        if match["edge"]:
            report = self._report(query)
            table = self._table(report.level, report.increment, report.since, report.until)
            if self.max_sync_rows is not None and len(table) > self.max_sync_rows:
                # What Meta answers when a synchronous report is too large to compute in time.
                raise _GraphError(
                    "Please reduce the amount of data you're asking for, then retry your request",
                    1,
                    status=500,
                    is_transient=False,
                )
            return self._page(request, query, table, report)
        return self._account(query, account)

    def _take_throttle(self) -> Response | None:
        with self._lock:
            if not self._throttles:
                return None
            code, minutes, status = self._throttles.popleft()
        message, subcode, header = _THROTTLES[code]
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "is_transient": True,
            "code": code,
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        error["fbtrace_id"] = f"AsbX{next(self._trace):07d}sandbox"
        if header == "x-app-usage":
            usage: Any = {"call_count": 100, "total_cputime": 28, "total_time": 31}
        else:
            kind = "ads_insights" if code in (613, 80000) else "ads_management"
            usage = {
                self.business.config.meta_account_id: [
                    {
                        "type": kind,
                        "call_count": 100,
                        "total_cputime": 41,
                        "total_time": 44,
                        "estimated_time_to_regain_access": minutes,
                    }
                ]
            }
        return json_response(
            status, {"error": error}, [(header, json.dumps(usage, separators=(",", ":")))]
        )

    def _account(self, query: dict[str, str], account: dict[str, Any]) -> Response:
        wanted = [f.strip() for f in query.get("fields", "").split(",") if f.strip()]
        for name in wanted:
            if name not in ACCOUNT_FIELDS:
                raise _bad_param(
                    f"Tried accessing nonexisting field ({name}) on node type (AdAccount)"
                )
        out = {"id": account["id"]}
        out.update({name: account[name] for name in wanted or ["account_id"]})
        return json_response(200, out)

    def _today(self) -> date:
        zone = ZoneInfo(self.business.meta_account["timezone_name"])
        return self.business.as_of.astimezone(zone).date()

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

    def _report(self, query: dict[str, str]) -> _Report:
        """The validated report an insights request (sync or async) asks for."""
        for name in _UNSUPPORTED:
            if name in query:
                raise _bad_param(f"{name} is not supported by the martlake sandbox")
        action_breakdowns = _list_param(query, "action_breakdowns")
        if action_breakdowns not in (None, [], ["action_type"]):
            raise _bad_param(
                f"action_breakdowns {action_breakdowns} is not supported by the martlake "
                'sandbox: use [] or ["action_type"]'
            )
        windows = _list_param(query, "action_attribution_windows") or []
        for window in windows:
            if window not in (*ATTRIBUTION_WINDOWS, "default"):
                raise _bad_param(
                    f"action_attribution_windows[{windows.index(window)}] must be one of "
                    f"{{{', '.join(ATTRIBUTION_WINDOWS)}, default}}"
                )
        if query.get("use_unified_attribution_setting", "true") not in ("true", "false"):
            raise _bad_param("Param use_unified_attribution_setting must be a boolean")
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
        since, until = self._range(query)
        return _Report(
            level, increment, since, until, fields, [w for w in windows if w != "default"]
        )

    def _limit(self, query: dict[str, str]) -> int:
        try:
            limit = min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        except ValueError as exc:
            raise _bad_param("Param limit must be an integer") from exc
        if limit < 1:
            raise _bad_param("Param limit must be a positive integer")
        return limit

    def _create_run(self, query: dict[str, str]) -> Response:
        report = self._report(query)
        self._limit(query)
        table = self._table(report.level, report.increment, report.since, report.until)
        with self._lock:
            outcome: JobOutcome = self._failing.popleft() if self._failing else "Job Completed"
            run_id = str(next(self._run_ids))
            if len(self._runs) > 512:
                self._runs.pop(next(iter(self._runs)))
            params = {k: v for k, v in query.items() if k != "access_token"}
            self._runs[run_id] = _ReportRun(run_id, params, report, table, outcome)
        return json_response(200, {"report_run_id": run_id})

    def _run_status(self, query: dict[str, str], run: _ReportRun) -> Response:
        with self._lock:
            run.polls += 1
            polls = run.polls
        if polls > self.job_polls:
            status: str = run.outcome
            percent = 100 if run.outcome == "Job Completed" else 0
        elif polls == 1 and self.job_polls > 1:
            status, percent = "Job Not Started", 0
        else:
            status, percent = "Job Running", 100 * polls // (self.job_polls + 1)
        done = polls > self.job_polls
        as_of = int(self.business.as_of.timestamp())
        values: dict[str, Any] = {
            "id": run.id,
            "account_id": self.business.config.meta_account_id,
            "async_status": status,
            "async_percent_completion": percent,
            "date_start": run.report.since.isoformat(),
            "date_stop": run.report.until.isoformat(),
            "time_ref": as_of,
            "time_completed": as_of if done else 0,
            "is_running": not done,
        }
        wanted = [f.strip() for f in query.get("fields", "").split(",") if f.strip()]
        for name in wanted:
            if name not in REPORT_RUN_FIELDS:
                raise _bad_param(
                    f"Tried accessing nonexisting field ({name}) on node type (AdReportRun)"
                )
        out = {name: values[name] for name in wanted} if wanted else dict(values)
        out["id"] = run.id
        return json_response(200, out)

    def _run_insights(self, request: Request, query: dict[str, str], run: _ReportRun) -> Response:
        if run.polls <= self.job_polls or run.outcome != "Job Completed":
            raise _bad_param(
                f"Report run {run.id} is not completed (async_status must be Job Completed)"
            )
        return self._page(request, query, run.table, run.report)

    def _page(
        self, request: Request, query: dict[str, str], table: list[dict[str, Any]], report: _Report
    ) -> Response:
        limit = self._limit(query)
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
        data = [self._project(row, report) for row in table[start:end]]
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

    def _project(self, row: dict[str, Any], report: _Report) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in report.fields:
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
        if report.windows:
            for name in ("actions", "action_values"):
                if name in out:
                    out[name] = _windowed(out[name], report.windows, name == "action_values")
        out["date_start"] = row["date_start"]
        out["date_stop"] = row["date_stop"]
        return self._drifted(out) if self.drift else out

    def _drifted(self, row: dict[str, Any]) -> dict[str, Any]:
        drift = self.drift
        if "dash_values" in drift:
            for name in _METRICS:
                if name in row and Decimal(row[name]) == 0:
                    row[name] = "-"
        if "numbers_as_strings" in drift:
            for name in _METRICS:
                value = row.get(name)
                if isinstance(value, str) and value != "-":
                    row[name] = float(value) if name == "spend" else int(value)
            for name in _IDS:
                if isinstance(row.get(name), str) and row[name].isdigit():
                    row[name] = int(row[name])
            for name in ("actions", "action_values"):
                if name in row:
                    row[name] = [
                        {k: (float(v) if "." in v else int(v)) if k != "action_type" else v
                         for k, v in entry.items()}
                        for entry in row[name]
                    ]  # fmt: skip
        if "renamed_field" in drift and "spend" in row:
            row["amount_spent"] = row.pop("spend")
        if "new_field" in drift:
            row["quality_ranking"] = "ABOVE_AVERAGE"
        return row
