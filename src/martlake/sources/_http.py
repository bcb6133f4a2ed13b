"""The only HTTP client of martlake: retries, backoff, `Retry-After`, error mapping, redaction."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
import msgspec

from martlake.config import redact
from martlake.errors import MartlakeError, RateLimitError, SourceContractError, SourceError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 60.0

ErrorMapper = Callable[[httpx.Response], MartlakeError | None]
"""Turns a vendor error response into a martlake error; `None` falls back to the generic mapping."""
BodyCheck = Callable[[Any], MartlakeError | None]
"""Inspects a decoded 2xx JSON body; the error it returns is raised (retried if `retryable`)."""
_T = TypeVar("_T")


_DECODER = msgspec.json.Decoder()


def decode_json(body: bytes) -> Any:
    """Decode a JSON body with msgspec: faster than `json` on API pages, and as exact (integers
    of any size stay integers).

    Raises:
        ValueError: The body is not JSON (`NaN`, which `json` accepts, included).
    """
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError:
        # `json` also takes NaN and Infinity, which some APIs send for undefined ratios.
        return json.loads(body)


class HttpClient:
    """An httpx client for one source.

    Transient failures (connection errors, timeouts, 429, 5xx, and whatever the source's mapper or
    body check marks `retryable`) are retried with jittered exponential backoff; a `Retry-After`
    header wins over the computed delay. Everything else raises at once.

    Args:
        source: Source name used in messages, e.g. `shopify`.
        base_url: Prefix for relative request paths.
        headers: Sent with every request (auth headers are redacted in logs).
        map_error: Vendor-specific error mapping.
        check: Default `BodyCheck` of `get_json`/`post_json`, for errors inside HTTP 200.
        max_attempts: Tries per request, including the first.
        backoff: First retry delay in seconds; doubles each time.
        timeout: Seconds to wait for connecting, sending and each read; a request that
            times out is retried like a 5xx (and counted in `retries`).
        transport: Optional httpx transport (tests).
    """

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        map_error: ErrorMapper | None = None,
        check: BodyCheck | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.source = source
        self._map_error = map_error
        self._check = check
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self.timeout = timeout
        self._client = httpx.Client(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport,
            # Never follow redirects: httpx would forward vendor auth headers such as
            # X-Shopify-Access-Token (and re-post secrets) to whatever host a redirect names.
            follow_redirects=False,
        )
        self.requests = 0
        self.retries = 0

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """GET with retries; returns a 2xx response or raises a `SourceError`."""
        return self.request("GET", url, params=params, headers=headers)

    def post(
        self,
        url: str,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """POST a JSON (`json`) or form (`data`) body with retries; returns a 2xx response."""
        return self.request("POST", url, params=params, json=json, data=data, headers=headers)

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        check: BodyCheck | None = None,
    ) -> Any:
        """GET and decode a JSON body (see `request_json`)."""
        return self.request_json("GET", url, params=params, headers=headers, check=check)

    def post_json(
        self,
        url: str,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        check: BodyCheck | None = None,
    ) -> Any:
        """POST and decode a JSON body (see `request_json`)."""
        return self.request_json(
            "POST", url, params=params, json=json, data=data, headers=headers, check=check
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response or raises a `SourceError`.

        Args:
            method: HTTP method.
            url: Path relative to `base_url`, or an absolute URL.
            params: Query parameters.
            json: Body sent as JSON.
            data: Body sent as `application/x-www-form-urlencoded`.
            headers: Added to the client's headers for this request only.
        """
        return self._retrying(lambda: self._send(method, url, params, json, data, headers))

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        check: BodyCheck | None = None,
    ) -> Any:
        """Send with retries and decode the JSON body.

        `check` (default: the client's) sees every decoded 2xx body; an error it returns is
        raised, and retried like an HTTP failure when it is `retryable`: vendors such as TikTok
        answer HTTP 200 with an error code in the body.

        Raises:
            SourceContractError: The body is not JSON.
        """
        checker = check or self._check

        def attempt() -> Any:
            response = self._send(method, url, params, json, data, headers)
            try:
                body = decode_json(response.content)
            except ValueError:
                raise SourceContractError(
                    f"{self.source}: `{redact(str(response.url))}` answered "
                    f"{response.status_code} with a body that is not JSON: check the base URL "
                    "and API version"
                ) from None
            if checker is not None:
                error = checker(body)
                if error is not None:
                    raise error
            return body

        return self._retrying(attempt)

    def _retrying(self, attempt_once: Callable[[], _T]) -> _T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return attempt_once()
            except MartlakeError as exc:
                if not exc.retryable or attempt >= self._max_attempts:
                    raise
                delay = self._delay(attempt, getattr(exc, "retry_after", None))
                logger.info("%s: %s; retry %d in %.1fs", self.source, exc, attempt, delay)
                self.retries += 1
                time.sleep(delay)

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        self.requests += 1
        started = time.perf_counter()
        try:
            response = self._client.request(
                method, url, params=params, json=json, data=data, headers=headers
            )
        except httpx.TimeoutException:
            raise SourceError(
                f"{self.source}: no answer from `{self._where(url)}` within {self.timeout:g}s: "
                f"the API is slow or unreachable; retry later or raise "
                f"`sources.{self.source}.timeout_seconds`"
            ) from None
        except httpx.TransportError as exc:
            raise SourceError(
                f"{self.source}: cannot reach `{self._where(url)}` ({redact(str(exc)) or 'error'}):"
                f" check the source's URL in martlake.toml and the network"
            ) from None
        logger.debug(
            "%s %s %s -> %d in %.2fs",
            self.source,
            method,
            redact(str(response.url)),
            response.status_code,
            time.perf_counter() - started,
        )
        if response.is_success:
            return response
        raise self._error(response)

    def _error(self, response: httpx.Response) -> MartlakeError:
        if self._map_error is not None:
            mapped = self._map_error(response)
            if mapped is not None:
                return mapped
        where = redact(str(response.url.copy_with(query=None)))
        if response.status_code == 429:
            return RateLimitError(
                f"{self.source}: rate limited at `{where}`", retry_after=_retry_after(response)
            )
        error = SourceError(
            f"{self.source}: `{where}` answered HTTP {response.status_code}: "
            f"{redact(response.text[:200]).strip()}"
        )
        error.retryable = response.status_code >= 500
        return error

    def _where(self, url: str) -> str:
        return redact(str(self._client.base_url.join(url).copy_with(query=None)))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return float(min(retry_after, MAX_BACKOFF))
        base = min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF)
        return float(base * (0.5 + random.random() / 2))


def _retry_after(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks to wait: delay-seconds or an HTTP-date (RFC 9110
    §10.2.3); None when absent or unreadable.

    >>> retry_after_seconds("7")
    7.0
    >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", datetime(2015, 10, 21, 7, 28))
    10.0
    """
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
