"""Ad-level daily reports from `report/integrated/get`, re-reading a lookback window."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from martlake.config import SECRETS_FILE, TikTokAdsSettings, redact
from martlake.errors import (
    AuthError,
    MartlakeError,
    RateLimitError,
    SourceContractError,
    SourceError,
)
from martlake.sources._http import HttpClient
from martlake.sources.base import (
    Account,
    Batch,
    Cursor,
    DayTotal,
    ExtractContext,
    Source,
    build_table,
    date_windows,
    first_day,
    window_table,
)
from martlake.sources.tiktok_ads._schema import SCHEMAS

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://business-api.tiktok.com"
# TikTok API for Business, "Synchronous reports": with `stat_time_day` a request spans at most
# 30 days.
WINDOW_DAYS = 30
DIMENSIONS = ("ad_id", "stat_time_day")
# Web purchases: the Complete Payment count and its value, which the API names
# `total_complete_payment_rate` (TikTok API for Business, "Reporting metrics > Page event
# metrics": "Total complete payment value"). `conversion` would count whatever event each ad
# group optimizes for, and `total_purchase_value` is the in-app purchase value.
COUNT_METRIC = "complete_payment"
VALUE_METRIC = "total_complete_payment_rate"
METRICS = (
    "campaign_id",
    "campaign_name",
    "adgroup_id",
    "adgroup_name",
    "ad_name",
    "spend",
    "impressions",
    "clicks",
    COUNT_METRIC,
    VALUE_METRIC,
)
ADVERTISER_FIELDS = ("advertiser_id", "name", "currency", "timezone")
# Metrics a row must carry (a missing one is an API change, never a zero) and their columns.
# TikTok sends "-" for a metric without value; that loads as NULL.
REQUIRED_METRICS = (
    ("spend", "spend"),
    ("impressions", "impressions"),
    ("clicks", "clicks"),
    ("conversions", COUNT_METRIC),
    ("conversion_value", VALUE_METRIC),
)
_EXPECTED_METRICS = frozenset(METRICS)
_EXPECTED_DIMENSIONS = frozenset(DIMENSIONS)
_CENT = Decimal("0.01")
# TikTok API for Business, "Return codes": errors come as HTTP 200 with `code` != 0.
_AUTH_CODES = {40102, 40104, 40105, 40106}
_PERMISSION_CODES = {40001}
_THROTTLE_CODES = {40016, 40100, 40133}
_BAD_REQUEST_CODES = {40000, 40002, 40006, 40051}


class TikTokAdsSource(Source):
    """TikTok ads, one row per ad and day, in each advertiser's timezone."""

    name = "tiktok_ads"
    schemas = SCHEMAS
    cursor = Cursor(table="ad_stats", account_column="advertiser_id", column="stat_date")

    def __init__(self, settings: TikTokAdsSettings, **http: Any) -> None:
        self.settings = settings
        token = settings.access_token.get_secret_value() if settings.access_token else ""
        base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._http = HttpClient(
            "tiktok_ads",
            f"{base}/open_api/{settings.api_version}",
            headers={"Access-Token": token},
            map_error=_map_error,
            check=_check_body,
            **http,
        )
        self._warned = False

    def close(self) -> None:
        self._http.close()

    def check(self) -> None:
        self._advertisers()

    def reconciliation_accounts(self) -> list[Account]:
        """Each configured advertiser with its timezone and currency."""
        advertisers = self._advertisers()
        return [
            Account(a, advertisers[a].get("timezone") or "UTC", advertisers[a]["currency"])
            for a in self.settings.advertiser_ids
        ]

    def reconciliation_totals(self, account: Account, since: date, until: date) -> list[DayTotal]:
        """Advertiser-level spend per day (`data_level=AUCTION_ADVERTISER`), in the
        advertiser's timezone and currency; days without spend may be left out."""
        out = []
        for first, last in date_windows(since, until, WINDOW_DAYS):
            out += self._totals(
                account, "AUCTION_ADVERTISER", ("advertiser_id", "stat_time_day"), first, last
            )
        return out

    def campaign_totals(self, account: Account, day: date) -> list[DayTotal]:
        """Spend per campaign on one day (`AUCTION_CAMPAIGN`), for the reconciliation
        drill-down."""
        return self._totals(account, "AUCTION_CAMPAIGN", ("campaign_id",), day, day)

    def _totals(
        self, account: Account, level: str, dimensions: tuple[str, ...], since: date, until: date
    ) -> list[DayTotal]:
        out = []
        page, pages = 1, 1
        while page <= pages:
            body = self._http.get_json(
                "/report/integrated/get/",
                params={
                    "advertiser_id": account.id,
                    "report_type": "BASIC",
                    "data_level": level,
                    "dimensions": json.dumps(dimensions),
                    "metrics": json.dumps(["spend"]),
                    "start_date": since.isoformat(),
                    "end_date": until.isoformat(),
                    "page": page,
                    "page_size": self.settings.page_size,
                },
            )
            data = _data(body, "report/integrated/get")
            try:
                for row in data.get("list") or []:
                    dims, metrics = row["dimensions"], row["metrics"]
                    metrics = {"spend": metrics.get("spend", metrics.get("cost")), **metrics}
                    day = (
                        date.fromisoformat(str(dims["stat_time_day"])[:10])
                        if ("stat_time_day" in dims)
                        else since
                    )
                    campaign = str(dims["campaign_id"]) if "campaign_id" in dimensions else None
                    spend = Decimal(_money(metrics["spend"]) or 0)
                    out.append(DayTotal(account.id, day, "spend", spend, campaign))
            except (KeyError, TypeError, ValueError, InvalidOperation):
                raise SourceContractError(
                    f"tiktok_ads: a {level} report row of advertiser `{account.id}` has no valid "
                    "day, campaign or `spend`: check api_version in martlake.toml"
                ) from None
            pages = _total_pages(data, account.id, page)
            page += 1
        return out

    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        self._warned = False
        advertisers = self._advertisers()
        for advertiser in self.settings.advertiser_ids:
            info = advertisers[advertiser]
            tz = info.get("timezone") or "UTC"
            until = ctx.end_date or datetime.now(_zone(tz)).date()
            s = self.settings
            since = first_day(ctx, advertiser, s.lookback_days, s.start_date, until)
            for window, stop in date_windows(since, until, WINDOW_DAYS):
                yield from self._window(advertiser, info, window, stop, ctx)

    def _advertisers(self) -> dict[str, dict[str, Any]]:
        ids = self.settings.advertiser_ids
        body = self._http.get_json(
            "/advertiser/info/",
            params={"advertiser_ids": json.dumps(ids), "fields": json.dumps(ADVERTISER_FIELDS)},
        )
        found = {
            str(item.get("advertiser_id")): item
            for item in _data(body, "advertiser/info").get("list") or []
            if isinstance(item, dict)
        }
        for advertiser in ids:
            if "currency" not in found.get(advertiser, {}):
                raise AuthError(
                    f"tiktok_ads: advertiser `{advertiser}` is not visible to the access token: "
                    "authorize it for the app (with the Reporting permission) or fix "
                    "`sources.tiktok_ads.advertiser_ids` in martlake.toml"
                )
        return found

    def _window(
        self,
        advertiser: str,
        info: dict[str, Any],
        since: date,
        until: date,
        ctx: ExtractContext,
    ) -> Iterator[Batch]:
        page, pages = 1, 1
        while page <= pages:
            body = self._http.get_json(
                "/report/integrated/get/",
                params={
                    "advertiser_id": advertiser,
                    "report_type": "BASIC",
                    "data_level": "AUCTION_AD",
                    "dimensions": json.dumps(DIMENSIONS),
                    "metrics": json.dumps(METRICS),
                    "start_date": since.isoformat(),
                    "end_date": until.isoformat(),
                    "page": page,
                    "page_size": self.settings.page_size,
                },
            )
            data = _data(body, "report/integrated/get")
            rows = data.get("list")
            if not isinstance(rows, list):
                raise SourceContractError(
                    f"tiktok_ads: the report of advertiser `{advertiser}` has no `list`: check "
                    "api_version in martlake.toml"
                )
            if rows:
                yield Batch("ad_stats", self._table(rows, advertiser, info, ctx))
            pages = _total_pages(data, advertiser, page)
            page += 1
        yield Batch(
            "extract_windows", window_table("tiktok_ads", advertiser, since, until, ctx.run_id)
        )

    def _table(
        self,
        rows: list[dict[str, Any]],
        advertiser: str,
        info: dict[str, Any],
        ctx: ExtractContext,
    ) -> Any:
        cols: dict[str, list[Any]] = defaultdict(list)
        unknown: set[str] = set()
        for row in rows:
            dims, metrics = row.get("dimensions"), row.get("metrics")
            if not isinstance(dims, dict) or not isinstance(metrics, dict):
                raise SourceContractError(
                    f"tiktok_ads: a report row of advertiser `{advertiser}` has no `dimensions` "
                    "or `metrics` object: check api_version in martlake.toml or report it"
                )
            seen = {f"dimensions.{k}" for k in dims.keys() - _EXPECTED_DIMENSIONS}
            seen |= {f"metrics.{k}" for k in metrics.keys() - _EXPECTED_METRICS}
            unknown |= seen
            for name in DIMENSIONS:
                if name not in dims:
                    raise _missing(advertiser, name, seen)
            try:
                cols["advertiser_id"].append(advertiser)
                cols["advertiser_name"].append(info.get("name"))
                cols["currency"].append(info["currency"])
                cols["timezone"].append(info.get("timezone"))
                # `stat_time_day` is "YYYY-MM-DD 00:00:00" in the advertiser's timezone.
                cols["stat_date"].append(str(dims["stat_time_day"])[:10])
                for col in ("campaign_id", "adgroup_id"):
                    cols[col].append(_text(metrics.get(col)))
                for col in ("campaign_name", "adgroup_name", "ad_name"):
                    cols[col].append(_text(metrics.get(col)))
                cols["ad_id"].append(str(dims["ad_id"]))
                for col, metric in REQUIRED_METRICS:
                    if metric not in metrics:
                        raise _missing(advertiser, metric, seen)
                    value = metrics[metric]
                    money = col in ("spend", "conversion_value")
                    cols[col].append(_money(value) if money else _int(value))
            except (TypeError, ValueError, InvalidOperation) as exc:
                raise SourceContractError(
                    f"tiktok_ads: a report row of advertiser `{advertiser}` mistypes a value "
                    f"(`{str(exc)[:60]}`): check api_version in martlake.toml or report it"
                ) from None
        if unknown and not self._warned:
            self._warned = True
            logger.warning(
                "tiktok_ads: `ad_stats` rows carry fields martlake does not read, ignored: %s",
                ", ".join(f"`{name}`" for name in sorted(unknown)),
            )
        return build_table(
            "tiktok_ads", "ad_stats", SCHEMAS["ad_stats"], cols, ctx.run_id, datetime.now(UTC)
        )


def _total_pages(data: dict[str, Any], advertiser: str, page: int) -> int:
    # TikTok API for Business, "Pagination": `page_info.total_page` is the number of pages of
    # the whole report (0 when it is empty); without it the rest would be lost silently.
    info = data.get("page_info")
    total = info.get("total_page") if isinstance(info, dict) else None
    try:
        return int(total)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SourceContractError(
            f"tiktok_ads: page {page} of the report of advertiser `{advertiser}` has no "
            "`page_info.total_page`: check api_version in martlake.toml or report it"
        ) from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _data(body: Any, endpoint: str) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise SourceContractError(
            f"tiktok_ads: {endpoint} answered without a `data` object: check api_version in "
            "martlake.toml"
        )
    return data


def _text(value: Any) -> str | None:
    return None if value in (None, "", "-") else str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        raise TypeError(value)
    text = _text(value)
    return int(Decimal(text)) if text is not None else None


def _missing(advertiser: str, field: str, unknown: set[str]) -> SourceContractError:
    seen = ", ".join(f"`{name}`" for name in sorted(unknown)) or "none"
    return SourceContractError(
        f"tiktok_ads: `ad_stats` rows of advertiser `{advertiser}` lack the required field "
        f"`{field}` (unknown fields seen: {seen}): the API changed its payload; check "
        "api_version in martlake.toml or report it"
    )


def _money(value: Any) -> str | None:
    """A metric string to 2 decimals, half-even; `None` when TikTok has no value (`"-"`)."""
    if isinstance(value, bool):
        raise TypeError(value)
    text = _text(value)
    if text is None:
        return None
    # A JSON number (float) prints its shortest repr, so 12.34 stays 12.34.
    return str(Decimal(text).quantize(_CENT, rounding=ROUND_HALF_EVEN))


def _check_body(body: Any) -> MartlakeError | None:
    if not isinstance(body, dict) or "code" not in body:
        return None
    return _code_error(body)


def _map_error(response: httpx.Response) -> MartlakeError | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and "code" in body:
        error = _code_error(body)
        # A 5xx makes an unknown code transient; auth and contract errors stay final.
        if type(error) is SourceError and response.status_code >= 500:
            error.retryable = True
        return error
    return None


def _code_error(body: dict[str, Any]) -> MartlakeError | None:
    try:
        code = int(body["code"])
    except (TypeError, ValueError):
        return SourceContractError(
            f"tiktok_ads: the API answered a non-numeric code `{body['code']!r}`: check api_version"
        )
    if code == 0:
        return None
    message = redact(str(body.get("message") or ""))[:160]
    detail = f"code {code}: {message}"
    if code in _AUTH_CODES:
        return AuthError(
            f"tiktok_ads: the access token was rejected ({detail}): generate a long-term token "
            "for an app with the Reporting permission and set `sources.tiktok_ads.access_token` "
            f"in {SECRETS_FILE}"
        )
    if code in _PERMISSION_CODES:
        return AuthError(
            f"tiktok_ads: no permission ({detail}): authorize the advertiser for the app with the "
            "Reporting permission and check `sources.tiktok_ads.advertiser_ids` in martlake.toml"
        )
    if code in _THROTTLE_CODES:
        return RateLimitError(f"tiktok_ads: throttled ({detail})")
    if code in _BAD_REQUEST_CODES:
        return SourceContractError(
            f"tiktok_ads: the API refused the request ({detail}): check api_version in "
            "martlake.toml"
        )
    error = SourceError(f"tiktok_ads: the API failed ({detail})")
    # 50000 "system error" and 51xxx internal/maintenance errors clear on their own.
    error.retryable = code >= 50000
    return error
