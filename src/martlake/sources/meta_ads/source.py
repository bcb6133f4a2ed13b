"""Ad-level daily insights, re-reading a lookback window because Meta restates conversions.

Short windows are read with synchronous GETs; long ones (backfills, the 28-day lookback) through
async report runs, as Meta recommends for large reports ("Insights API: Asynchronous Jobs").
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import msgspec

from martlake.config import MetaAdsSettings, redact
from martlake.errors import (
    AuthError,
    MartlakeError,
    RateLimitError,
    SourceContractError,
    SourceError,
)
from martlake.sources._arrow_sql import FastPathMiss, batched
from martlake.sources._http import HttpClient, decode_json
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
from martlake.sources.meta_ads._schema import SCHEMAS
from martlake.sources.meta_ads._sql import PAGES, QUERY

logger = logging.getLogger(__name__)

FIELDS = (
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "spend",
    "impressions",
    "clicks",
    "actions",
    "action_values",
    "attribution_setting",
)
KNOWN_KEYS = frozenset((*FIELDS, "date_start", "date_stop"))
# Pixel purchases when the account reports them, else the generic `purchase` action; never both,
# since Meta reports the same conversion under both types.
PURCHASE_ACTIONS = ("offsite_conversion.fb_pixel_purchase", "purchase", "omni_purchase")
WINDOW_DAYS = 31
ASYNC_AFTER_DAYS = 7
"""In `async_reports = "auto"`, windows longer than this go through async report runs."""
MAX_POLL_WAIT = 30.0
MIN_POLL_WAIT = 0.05
"""Shortest wait between two status polls of a report run, whatever the settings say."""
JOB_COMPLETED = "Job Completed"
JOB_FAILURES = ("Job Failed", "Job Skipped")
# https://developers.facebook.com/docs/graph-api/guides/error-handling
_AUTH_CODES = {190, 102, 200, 10, 272}
# https://developers.facebook.com/docs/graph-api/overview/rate-limiting: app (4), user (17),
# page (32), API (613) limits and the business use case codes 800xx.
_THROTTLE_CODES = {4, 17, 32, 613, *range(80000, 80015)}
_BLANK = (None, "", "-")
_COMPACT = (",", ":")
_ENCODE = json.JSONEncoder(separators=_COMPACT).encode


class _TooMuchDataError(SourceError):
    """Meta refuses a synchronous report as too large; an async report run can build it."""

    retryable = False


class MetaAdsSource(Source):
    """Meta ad insights at ad level, one row per ad and day, in each account's timezone."""

    name = "meta_ads"
    schemas = SCHEMAS
    cursor = Cursor(table="insights", account_column="account_id", column="date_start")

    def __init__(self, settings: MetaAdsSettings, **http: Any) -> None:
        self.settings = settings
        token = settings.access_token.get_secret_value() if settings.access_token else ""
        base = (settings.base_url or "https://graph.facebook.com").rstrip("/")
        self._http = HttpClient(
            "meta_ads",
            f"{base}/{settings.api_version}",
            headers={"Authorization": f"Bearer {token}"},
            map_error=_map_error,
            **http,
        )
        self._new_fields_seen: set[str] = set()

    @property
    def account_ids(self) -> list[str]:
        """Configured accounts, without the `act_` prefix."""
        return [a.removeprefix("act_") for a in self.settings.account_ids]

    def close(self) -> None:
        self._http.close()

    def check(self) -> None:
        for account in self.account_ids:
            self._account(account)

    def _account(self, account: str) -> dict[str, Any]:
        body = self._http.get_json(
            f"/act_{account}", params={"fields": "name,currency,timezone_name"}
        )
        if not isinstance(body, dict) or "currency" not in body:
            raise SourceContractError(
                f"meta_ads: account `act_{account}` answered without a currency: check api_version"
            )
        return body

    def reconciliation_accounts(self) -> list[Account]:
        """Each configured account with its timezone and currency."""
        out = []
        for account in self.account_ids:
            info = self._account(account)
            out.append(Account(account, info.get("timezone_name") or "UTC", info.get("currency")))
        return out

    def reconciliation_totals(self, account: Account, since: date, until: date) -> list[DayTotal]:
        """Account-level spend per day (`level=account`, `time_increment=1`), in the account's
        timezone and currency; days without spend are left out, as Meta does."""
        out = []
        for first, last in date_windows(since, until, WINDOW_DAYS):
            out += self._totals(account.id, "account", first, last)
        return out

    def campaign_totals(self, account: Account, day: date) -> list[DayTotal]:
        """Spend per campaign on one day (`level=campaign`), for the reconciliation drill-down."""
        return self._totals(account.id, "campaign", day, day)

    def _totals(self, account: str, level: str, since: date, until: date) -> list[DayTotal]:
        params = {
            "level": level,
            "time_increment": 1,
            "time_range": json.dumps(
                {"since": since.isoformat(), "until": until.isoformat()}, separators=_COMPACT
            ),
            "fields": "campaign_id,spend" if level == "campaign" else "spend",
            "limit": self.settings.page_size,
        }
        pages = self._pages(account, f"/act_{account}/insights", params)
        try:
            return [
                DayTotal(
                    account,
                    date.fromisoformat(str(row["date_start"])),
                    "spend",
                    _spend(row),
                    str(row["campaign_id"]) if level == "campaign" else None,
                )
                for rows in pages
                for row in rows
            ]
        except (KeyError, ValueError) as exc:
            raise SourceContractError(
                f"meta_ads: {level}-level insights of `act_{account}` have no valid "
                f"`{exc.args[0] if isinstance(exc, KeyError) else 'date_start'}`: check "
                "api_version in martlake.toml"
            ) from None

    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        self._new_fields_seen = set()
        for account in self.account_ids:
            info = self._account(account)
            tz = info.get("timezone_name") or "UTC"
            try:
                zone = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise SourceContractError(
                    f"meta_ads: account `act_{account}` reports timezone `{tz}`, which is not an "
                    "IANA zone: check api_version, or report it"
                ) from None
            # Meta reports days in the account's timezone, so "today" is the account's today.
            until = ctx.end_date or datetime.now(zone).date()
            s = self.settings
            since = first_day(ctx, account, s.lookback_days, s.start_date, until)
            for window, stop in date_windows(since, until, WINDOW_DAYS):
                yield from self._window(account, info, tz, window, stop, ctx)

    def _params(self, since: date, until: date) -> dict[str, Any]:
        params: dict[str, Any] = {
            "level": "ad",
            "time_increment": 1,
            "time_range": json.dumps(
                {"since": since.isoformat(), "until": until.isoformat()}, separators=_COMPACT
            ),
            "fields": ",".join(FIELDS),
            "action_breakdowns": json.dumps(["action_type"], separators=_COMPACT),
            "use_unified_attribution_setting": "true",
            "limit": self.settings.page_size,
        }
        if self.settings.attribution_windows:
            params["action_attribution_windows"] = json.dumps(
                self.settings.attribution_windows, separators=_COMPACT
            )
        return params

    def _use_async(self, since: date, until: date) -> bool:
        mode = self.settings.async_reports
        return mode == "always" or (mode == "auto" and (until - since).days + 1 > ASYNC_AFTER_DAYS)

    def _window(
        self,
        account: str,
        info: dict[str, Any],
        tz: str,
        since: date,
        until: date,
        ctx: ExtractContext,
    ) -> Iterator[Batch]:
        params = self._params(since, until)
        if self._use_async(since, until):
            pages = self._async_pages(account, params, since, until)
        else:
            pages = self._bodies(account, f"/act_{account}/insights", params)
            if self.settings.async_reports == "auto":
                pages = self._or_async(pages, account, params, since, until)
        yield from self.insight_batches(pages, account, info, tz, ctx)
        yield Batch("extract_windows", window_table("meta_ads", account, since, until, ctx.run_id))

    def insight_batches(
        self,
        pages: Iterable[Page],
        account: str,
        info: dict[str, Any],
        tz: str,
        ctx: ExtractContext,
    ) -> Iterator[Batch]:
        """`insights` batches of pages: by the SQL path (`_sql.py`) a few MB of pages at a
        time, by the Python path (`_table`) page by page where the SQL path misses."""
        for group in batched(page.body for page in pages if page.rows):
            try:
                yield Batch("insights", self._sql_table(group, account, info, tz, ctx))
            except FastPathMiss as miss:
                logger.debug("meta_ads: SQL path missed (%s); Python path", miss)
                for body in group:
                    rows = decode_json(body)["data"]
                    yield Batch("insights", self._table(rows, account, info, tz, ctx))

    def _sql_table(
        self,
        bodies: list[bytes],
        account: str,
        info: dict[str, Any],
        tz: str,
        ctx: ExtractContext,
    ) -> Any:
        params = {
            "account": account,
            "name": info.get("name"),
            "currency": info["currency"],
            "timezone": tz,
        }
        keys, tables = PAGES.run(bodies, {"insights": QUERY}, params, {"rows": "$.data[*]"})
        self._note_unknown(keys["rows"] - KNOWN_KEYS)
        columns = {name: tables["insights"].column(name) for name in SCHEMAS["insights"].names}
        return build_table(
            "meta_ads", "insights", SCHEMAS["insights"], columns, ctx.run_id, datetime.now(UTC)
        )

    def _note_unknown(self, unknown: set[str]) -> None:
        if unknown - self._new_fields_seen:
            if not self._new_fields_seen:
                logger.warning(
                    "meta_ads: `insights` rows carry fields martlake does not read: %s; loading "
                    "the known ones",
                    ", ".join(f"`{f}`" for f in sorted(unknown)),
                )
            self._new_fields_seen |= unknown

    def _pages(
        self, account: str, url: str, params: dict[str, Any] | None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of an insights edge as rows, following `paging.next`."""
        for page in self._bodies(account, url, params):
            yield decode_json(page.body)["data"]

    def _bodies(self, account: str, url: str, params: dict[str, Any] | None) -> Iterator[Page]:
        """Every page of an insights edge as its body, following `paging.next`."""
        next_url: str | None = url
        while next_url is not None:
            response = self._http.get(next_url, params=params)
            page = insights_page(response.content, account, str(response.url))
            yield page
            next_url = page.next
            params = None

    def _or_async(
        self,
        pages: Iterator[Page],
        account: str,
        params: dict[str, Any],
        since: date,
        until: date,
    ) -> Iterator[Page]:
        """Sync pages, or the async report run's when Meta finds the window too large."""
        started = False
        try:
            for rows in pages:
                yield rows
                started = True
        except _TooMuchDataError:
            if started:
                raise
            logger.info(
                "meta_ads: `act_%s` %s..%s is too large to read synchronously; using an async "
                "report run",
                account,
                since,
                until,
            )
            yield from self._async_pages(account, params, since, until)

    def _async_pages(
        self, account: str, params: dict[str, Any], since: date, until: date
    ) -> Iterator[Page]:
        """Pages of an async report run, created again when Meta fails or skips it."""
        s = self.settings
        where = f"`act_{account}` {since}..{until}"
        status = ""
        for attempt in range(s.async_retries + 1):
            body = self._http.post_json(
                f"/act_{account}/insights", data={k: str(v) for k, v in params.items()}
            )
            run_id = body.get("report_run_id") if isinstance(body, dict) else None
            if not run_id:
                raise SourceContractError(
                    f"meta_ads: creating the async insights report of {where} returned no "
                    "`report_run_id`: check api_version, or set "
                    '`sources.meta_ads.async_reports = "never"`'
                )
            status = self._await_run(str(run_id), where)
            if status == JOB_COMPLETED:
                yield from self._bodies(account, f"/{run_id}/insights", {"limit": s.page_size})
                return
            logger.warning(
                "meta_ads: async report run %s of %s ended `%s`; creating it again (%d of %d)",
                run_id,
                where,
                status,
                attempt + 1,
                s.async_retries,
            )
        raise SourceError(
            f"meta_ads: the async insights report of {where} ended `{status}` "
            f"{s.async_retries + 1} times: Meta could not build it; retry later, or set "
            '`sources.meta_ads.async_reports = "never"`'
        )

    def _await_run(self, run_id: str, where: str) -> str:
        """Poll a report run with a growing wait until it completes, fails or times out."""
        s = self.settings
        deadline = time.monotonic() + s.async_timeout
        wait = 0.0
        while True:
            time.sleep(wait)
            body = self._http.get_json(
                f"/{run_id}", params={"fields": "async_status,async_percent_completion"}
            )
            status = body.get("async_status") if isinstance(body, dict) else None
            if not isinstance(status, str):
                raise SourceContractError(
                    f"meta_ads: report run `{run_id}` of {where} has no `async_status`: "
                    "check api_version"
                )
            percent = body.get("async_percent_completion")
            # Meta: a run is done when the status is `Job Completed` and the percentage 100.
            if status == JOB_COMPLETED and percent in (None, 100, "100"):
                return status
            if status in JOB_FAILURES:
                return status
            if time.monotonic() >= deadline:
                raise SourceError(
                    f"meta_ads: async report run `{run_id}` of {where} is still `{status}` "
                    f"({percent}%) after {s.async_timeout:g}s: raise "
                    "`sources.meta_ads.async_timeout`, or retry later"
                )
            wait = min(max(wait * 2, s.async_poll_interval, MIN_POLL_WAIT), MAX_POLL_WAIT)
            wait = min(wait, max(0.0, deadline - time.monotonic()))

    def _table(
        self,
        rows: list[dict[str, Any]],
        account: str,
        info: dict[str, Any],
        tz: str,
        ctx: ExtractContext,
    ) -> Any:
        unknown: set[str] = set().union(*rows) - KNOWN_KEYS
        try:
            cols = _columns(rows, account, info, tz)
        except KeyError as exc:
            field = exc.args[0] if exc.args else "?"
            seen = ", ".join(f"`{f}`" for f in sorted(unknown))
            raise SourceContractError(
                f"meta_ads: `insights` rows of `act_{account}` lack the required field `{field}`"
                f"{f' (new fields seen: {seen})' if seen else ''}: the API changed its payload; "
                "check `api_version` in martlake.toml, or report it"
            ) from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise SourceContractError(
                f"meta_ads: an `insights` row of `act_{account}` mistypes a field ({exc}): "
                "check `api_version` in martlake.toml, or report it"
            ) from None
        self._note_unknown(unknown)
        return build_table(
            "meta_ads", "insights", SCHEMAS["insights"], cols, ctx.run_id, datetime.now(UTC)
        )


class _Paging(msgspec.Struct):
    next: str | None = None


class _Body(msgspec.Struct):
    data: list[msgspec.Raw]
    paging: _Paging | None = None


_PAGE = msgspec.json.Decoder(_Body)


@dataclass(frozen=True)
class Page:
    """One insights page as served: its body, its row count and the next page's URL."""

    body: bytes
    rows: int
    next: str | None


def insights_page(body: bytes, account: str, where: str) -> Page:
    """Check a page has a `data` list (without building its rows) and find the next page.

    Raises:
        SourceContractError: The body is not JSON or has no `data` list.
    """
    try:
        page = _PAGE.decode(body)
        return Page(body, len(page.data), page.paging.next if page.paging else None)
    except msgspec.DecodeError:
        pass
    try:
        decoded = decode_json(body)
    except ValueError:
        raise SourceContractError(
            f"meta_ads: `{redact(where)}` answered with a body that is not JSON: check the base "
            "URL and API version"
        ) from None
    rows = decoded.get("data") if isinstance(decoded, dict) else None
    if not isinstance(rows, list):
        raise SourceContractError(
            f"meta_ads: insights for `act_{account}` have no `data` list: check api_version"
        )
    paging = decoded.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    return Page(body, len(rows), following if isinstance(following, str) else None)


def _columns(
    rows: list[dict[str, Any]], account: str, info: dict[str, Any], tz: str
) -> dict[str, list[Any]]:
    """Column lists of one page; `KeyError` names a missing required field (`date_start`,
    `ad_id`, `spend`, `impressions`, `clicks`): Meta always sends them, so a missing one is an
    API change, never a zero."""
    name, currency = info.get("name"), info["currency"]
    starts = [r["date_start"] for r in rows]
    ad_ids = [str(r["ad_id"]) for r in rows]
    spend = [None if (v := r["spend"]) in _BLANK else str(v) for r in rows]
    impressions = _integers(rows, "impressions")
    clicks = _integers(rows, "clicks")
    return {
        "account_id": [str(r.get("account_id") or account) for r in rows],
        "account_name": [r.get("account_name") or name for r in rows],
        "account_currency": [r.get("account_currency") or currency for r in rows],
        "account_timezone": [tz] * len(rows),
        "date_start": starts,
        "date_stop": [r.get("date_stop") or r["date_start"] for r in rows],
        "campaign_id": [None if (v := r.get("campaign_id")) is None else str(v) for r in rows],
        "campaign_name": [r.get("campaign_name") for r in rows],
        "adset_id": [None if (v := r.get("adset_id")) is None else str(v) for r in rows],
        "adset_name": [r.get("adset_name") for r in rows],
        "ad_id": ad_ids,
        "ad_name": [r.get("ad_name") for r in rows],
        "spend": spend,
        "impressions": impressions,
        "clicks": clicks,
        "purchases": [_count(_purchase(r.get("actions"))) for r in rows],
        "purchase_value": [_purchase(r.get("action_values")) or "0" for r in rows],
        "actions_json": [_ENCODE(a) if (a := r.get("actions")) else None for r in rows],
        "attribution_setting": [r.get("attribution_setting") for r in rows],
    }


def _spend(row: dict[str, Any]) -> Decimal:
    value = row.get("spend", row.get("amount_spent"))
    if value in _BLANK:
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SourceContractError(
            f"meta_ads: insights `spend` is `{str(value)[:40]}`, not an amount: check api_version"
        ) from None


class _MistypedError(ValueError):
    def __init__(self, field: str, value: Any) -> None:
        super().__init__(f"`{field}` is `{str(value)[:40]}`, not a whole number")


def _integers(rows: list[dict[str, Any]], field: str) -> list[int | None]:
    try:
        return [None if (v := r[field]) in _BLANK else int(v) for r in rows]
    except (TypeError, ValueError):
        bad = next(r[field] for r in rows if not _is_integer(r[field]))
        raise _MistypedError(field, bad) from None


def _is_integer(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return value in _BLANK
    return True


def _count(value: str | None) -> int:
    return int(float(value)) if value else 0


def _purchase(actions: Any) -> str | None:
    """The `value` of the purchase action (the ad set's attribution setting), as text."""
    if not actions:
        return None
    by_type = {a.get("action_type"): a.get("value") for a in actions}
    for action_type in PURCHASE_ACTIONS:
        if action_type in by_type:
            value = by_type[action_type]
            return None if value in _BLANK else str(value)
    return None


def _regain_seconds(response: httpx.Response) -> float | None:
    """The wait Meta announces with a throttling error, or None for exponential backoff.

    Meta's "Rate Limiting" guide: `x-business-use-case-usage` maps each business object id to
    usages with `estimated_time_to_regain_access` in minutes; `x-ad-account-usage` has
    `reset_time_duration` in seconds; `x-app-usage` only reports percentages (no wait).
    """
    waits: list[float] = []
    try:
        raw = response.headers.get("x-business-use-case-usage")
        if raw:
            usage = json.loads(raw)
            waits += [
                float(entry.get("estimated_time_to_regain_access") or 0) * 60
                for entries in usage.values()
                for entry in entries
            ]
        raw = response.headers.get("x-ad-account-usage")
        if raw:
            waits.append(float(json.loads(raw).get("reset_time_duration") or 0))
    except (ValueError, TypeError, AttributeError):
        return None
    wait = max(waits, default=0.0)
    return wait if wait > 0 else None


def _map_error(response: httpx.Response) -> MartlakeError | None:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None
    code = error.get("code")
    message = redact(str(error.get("message", "")))[:160]
    # Throttling first: Meta answers the app limit (code 4) with HTTP 403 as well as 400.
    if code in _THROTTLE_CODES or response.status_code == 429:
        return RateLimitError(
            f"meta_ads: throttled (code {code}: {message})", retry_after=_regain_seconds(response)
        )
    if code in _AUTH_CODES or (
        response.status_code in (401, 403) and not error.get("is_transient")
    ):
        return AuthError(
            f"meta_ads: the token was rejected or lacks `ads_read` (code {code}: {message}): "
            "create a system-user token with ads_read and set `sources.meta_ads.access_token` "
            "in .martlake/secrets.toml"
        )
    if code == 1 and "reduce the amount of data" in message.lower():
        return _TooMuchDataError(
            f"meta_ads: Meta refused a synchronous report as too large (code 1: {message}): "
            'set `sources.meta_ads.async_reports = "auto"` (or "always") in martlake.toml'
        )
    if code == 100:
        return SourceContractError(
            f"meta_ads: the API refused the request (code 100: {message}): check "
            "`sources.meta_ads.account_ids` and api_version in martlake.toml"
        )
    if error.get("is_transient"):
        transient = SourceError(f"meta_ads: transient Graph error (code {code}: {message})")
        transient.retryable = True
        return transient
    return None
