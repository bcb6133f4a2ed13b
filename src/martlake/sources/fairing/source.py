"""Survey responses from Fairing's `GET /api/responses`, read in `inserted_at` windows, each
paged newest first by the `next` URL, re-reading a lookback window before the watermark."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx

from martlake.config import ENV_PREFIX, SECRETS_FILE, FairingSettings, redact
from martlake.errors import AuthError, MartlakeError, SourceContractError
from martlake.privacy import Hasher, redact_contacts
from martlake.sources._http import HttpClient
from martlake.sources.base import (
    DEFAULT_HISTORY_DAYS,
    Batch,
    Cursor,
    ExtractContext,
    Source,
    build_table,
)
from martlake.sources.fairing._schema import SCHEMAS

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://app.fairing.co"
RESPONSES_PATH = "/api/responses"
PAGE_SIZE = 100
"""Responses per page: the API's largest `limit`."""
WINDOW_DAYS = 30
"""Days of `inserted_at` one paged query covers."""
REQUIRED_FIELDS = ("id", "order_id", "inserted_at")
_CENT = Decimal("0.01")
_TOKEN_FIX = (
    f"copy the API token from Fairing and set `sources.fairing.api_token` in {SECRETS_FILE} "
    f"or {ENV_PREFIX}SOURCES__FAIRING__API_TOKEN"
)

Parser = Callable[[str, Any, Hasher], Any]


class _Mistyped(Exception):
    def __init__(self, name: str, value: Any, expected: str) -> None:
        super().__init__(name)
        self.name, self.value, self.expected = name, value, expected


def _text(name: str, value: Any, hasher: Hasher) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Mistyped(name, value, "text")


def _int(name: str, value: Any, hasher: Hasher) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise _Mistyped(name, value, "an integer")


def _bool(name: str, value: Any, hasher: Hasher) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Mistyped(name, value, "true or false")


def _money(name: str, value: Any, hasher: Hasher) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Mistyped(name, value, "a decimal number")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise _Mistyped(name, value, "a decimal number") from None
    if not amount.is_finite():
        raise _Mistyped(name, value, "a decimal number")
    return str(amount.quantize(_CENT, rounding=ROUND_HALF_EVEN))


def _timestamp(name: str, value: Any, hasher: Hasher) -> str | None:
    if value is None or isinstance(value, str):
        return value  # ISO 8601; `build_table` casts it and names the field when it cannot
    raise _Mistyped(name, value, "an ISO 8601 timestamp")


def _free_text(name: str, value: Any, hasher: Hasher) -> str | None:
    """Text the customer typed: kept, without the email addresses or phone numbers in it."""
    return redact_contacts(_text(name, value, hasher))


def _email(name: str, value: Any, hasher: Hasher) -> str | None:
    if value is None or isinstance(value, str):
        return hasher.email(value)
    raise _Mistyped(name, "…", "text")  # never shows what might be an address


# Raw column -> (field of a response record, parser). Every field of the record is read except
# `email`, which only lands hashed.
COLUMNS: dict[str, tuple[str, Parser]] = {
    "id": ("id", _text),
    "question_id": ("question_id", _int),
    "question": ("question", _text),
    "question_type": ("question_type", _text),
    "clarification_question": ("clarification_question", _bool),
    "referring_question_id": ("referring_question_id", _int),
    "referring_question_response": ("referring_question_response", _text),
    "response_id": ("response_id", _int),
    "response": ("response", _text),
    "other": ("other", _bool),
    "other_response": ("other_response", _free_text),
    "order_id": ("order_id", _text),
    "order_number": ("order_number", _text),
    "order_platform": ("order_platform", _text),
    "customer_id": ("customer_id", _text),
    "email_hash": ("email", _email),
    "customer_order_count": ("customer_order_count", _int),
    "order_total": ("order_total", _money),
    "order_currency_code": ("order_currency_code", _text),
    "landing_page_path": ("landing_page_path", _text),
    "referring_site": ("referring_site", _text),
    "utm_source": ("utm_source", _text),
    "utm_medium": ("utm_medium", _text),
    "utm_campaign": ("utm_campaign", _text),
    "utm_content": ("utm_content", _text),
    "utm_term": ("utm_term", _text),
    "inserted_at": ("inserted_at", _timestamp),
    "updated_at": ("updated_at", _timestamp),
    "response_provided_at": ("response_provided_at", _timestamp),
}
KNOWN_FIELDS = frozenset(field for field, _ in COLUMNS.values())


class FairingSource(Source):
    """Fairing post-purchase survey responses: one row per question answered for an order,
    the customer's email hashed (`email_hash`, the same hash as `raw_shopify.orders`).

    Each run reads the responses inserted since the newest `inserted_at` loaded minus
    `lookback_days` (the first run: since `start_date`), in windows of `WINDOW_DAYS`, each
    paged newest first through the `next` URL. Responses have no totals to reconcile.
    """

    name = "fairing"
    schemas = SCHEMAS
    # Responses carry no account id: the watermark is the newest `inserted_at` of any platform.
    cursor = Cursor(table="responses", account_column="order_platform", column="inserted_at")

    def __init__(self, settings: FairingSettings, **http: Any) -> None:
        self.settings = settings
        token = settings.api_token.get_secret_value() if settings.api_token else ""
        self._base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        http.setdefault("timeout", settings.timeout_seconds)
        self._http = HttpClient(
            "fairing",
            self._base,
            headers={"Authorization": token, "Accept": "application/json"},
            map_error=_map_error,
            **http,
        )
        self._warned = False

    def close(self) -> None:
        self._http.close()

    def check(self) -> None:
        self._page(RESPONSES_PATH, {"limit": 1})

    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        self._warned = False
        since, until = self._range(ctx)
        start = since
        while start < until:
            stop = min(start + timedelta(days=WINDOW_DAYS), until)
            yield from self._window(start, stop, ctx)
            start = stop

    def _range(self, ctx: ExtractContext) -> tuple[datetime, datetime]:
        """`[since, until)` of `inserted_at` to read, in UTC."""
        if ctx.end_date is not None:
            until = _midnight(ctx.end_date + timedelta(days=1))
        else:
            until = datetime.now(UTC)
        watermark = None if ctx.full_refresh else _newest(ctx.watermarks.values())
        if ctx.start_date is not None:
            since = _midnight(ctx.start_date)
        elif watermark is not None:
            since = watermark - timedelta(days=self.settings.lookback_days)
        elif self.settings.start_date is not None:
            since = _midnight(self.settings.start_date)
        else:
            since = until - timedelta(days=DEFAULT_HISTORY_DAYS)
        return since, until

    def _window(self, since: datetime, until: datetime, ctx: ExtractContext) -> Iterator[Batch]:
        url: str | None = RESPONSES_PATH
        params: dict[str, Any] | None = {
            "since": _iso(since),
            "until": _iso(until),
            "limit": PAGE_SIZE,
        }
        seen: set[str] = set()
        while url is not None:
            records, following = self._page(url, params)
            if records:
                yield Batch("responses", self._table(records, ctx))
            if following is not None:
                if following in seen:
                    raise SourceContractError(
                        f"fairing: `next` repeats `{redact(following)}`: the API's paging "
                        "changed; report it"
                    )
                seen.add(following)
            # `next` carries since, until, limit and the `after` cursor.
            url, params = following, None

    def _page(self, url: str, params: dict[str, Any] | None) -> tuple[list[Any], str | None]:
        body = self._http.get_json(url, params=params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise SourceContractError(
                f"fairing: `{RESPONSES_PATH}` answered without a `data` list: check "
                "`sources.fairing.base_url` in martlake.toml or report it"
            )
        following = body.get("next")
        if following is not None and not self._same_api(following):
            raise SourceContractError(
                f"fairing: `next` is `{redact(str(following))[:120]}`, not a URL of "
                f"`{self._base}{RESPONSES_PATH}`: the API's paging changed; report it"
            )
        return data, following

    def _same_api(self, url: Any) -> bool:
        # The token goes with every request: follow `next` only to the API it came from.
        if not isinstance(url, str):
            return False
        here, there = urlsplit(self._base), urlsplit(url)
        return (there.scheme, there.netloc) == (here.scheme, here.netloc) and there.path.endswith(
            RESPONSES_PATH
        )

    def _table(self, records: list[Any], ctx: ExtractContext) -> Any:
        hasher = ctx.hasher
        cols: dict[str, list[Any]] = defaultdict(list)
        unknown: set[str] = set()
        for record in records:
            if not isinstance(record, dict):
                raise SourceContractError(
                    "fairing: a `data` item is not a response object: report it"
                )
            _require(record)
            unknown |= record.keys() - KNOWN_FIELDS
            for column, (field, parse) in COLUMNS.items():
                try:
                    cols[column].append(parse(field, record.get(field), hasher))
                except _Mistyped as exc:
                    shown = str(exc.value)[:40]
                    raise SourceContractError(
                        f"fairing: response `{record['id']}` has `{exc.name}` = `{shown}`, not "
                        f"{exc.expected}: the API changed its payload; report it"
                    ) from None
        if unknown and not self._warned:
            self._warned = True
            logger.warning(
                "fairing: `responses` carry fields martlake does not read, ignored: %s",
                ", ".join(f"`{name}`" for name in sorted(unknown)),
            )
        return build_table(
            "fairing", "responses", SCHEMAS["responses"], cols, ctx.run_id, datetime.now(UTC)
        )


def _require(record: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED_FIELDS if record.get(name) in (None, "")]
    if not missing:
        return
    unknown = sorted(record.keys() - KNOWN_FIELDS)
    seen = f" (unknown fields seen: {', '.join(f'`{k}`' for k in unknown)})" if unknown else ""
    which = "a response" if "id" in missing else f"response `{record['id']}`"
    raise SourceContractError(
        f"fairing: {which} lacks the required field "
        f"{', '.join(f'`{name}`' for name in missing)}{seen}: the API changed its payload; "
        "report it"
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _newest(values: Any) -> datetime | None:
    newest = None
    for value in values:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        newest = moment if newest is None or moment > newest else newest
    return newest


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return redact(response.text[:160]).strip()
    error = body.get("error") if isinstance(body, dict) else None
    return redact(str(error if error is not None else body))[:160]


def _map_error(response: httpx.Response) -> MartlakeError | None:
    status = response.status_code
    if status in (401, 403):
        return AuthError(
            f"fairing: the API token was rejected ({status}: {_error_text(response)}): "
            + _TOKEN_FIX
        )
    if status in (400, 404, 422):
        url = redact(str(response.url.copy_with(query=None)))
        return SourceContractError(
            f"fairing: `{url}` refused the request ({status}: {_error_text(response)}): check "
            "`sources.fairing.base_url` in martlake.toml or report it"
        )
    return None
