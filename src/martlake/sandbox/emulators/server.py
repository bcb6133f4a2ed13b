"""One loopback HTTP server hosting every API emulator under its own prefix."""

from __future__ import annotations

import logging
import math
import random
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal, get_args
from urllib.parse import parse_qsl, urlsplit

from martlake.sandbox.emulators._http import Headers, Request, Response, json_response
from martlake.sandbox.emulators.fairing import SANDBOX_FAIRING_TOKEN, FairingApp
from martlake.sandbox.emulators.google_ads import GoogleAdsApp
from martlake.sandbox.emulators.meta_ads import SANDBOX_META_TOKEN, MetaAdsApp
from martlake.sandbox.emulators.shopify import SANDBOX_SHOPIFY_TOKEN, ShopifyApp
from martlake.sandbox.emulators.tiktok_ads import SANDBOX_TIKTOK_TOKEN, TikTokAdsApp
from martlake.sandbox.simulator import Business, Platform

logger = logging.getLogger(__name__)

Api = Literal["shopify", "meta", "google", "tiktok", "fairing"]
FaultKind = Literal["rate_limit", "server_error", "timeout"]
DriftKind = Literal["new_field", "renamed_field", "numbers_as_strings", "dash_values"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
DRIFT_KINDS: tuple[DriftKind, ...] = get_args(DriftKind)
DEFAULT_FAULT_KINDS: tuple[FaultKind, ...] = ("rate_limit", "server_error")
DEFAULT_TIMEOUT_HOLD = 6.0
RequestLogEntry = tuple[str, str, dict[str, str]]
_PLATFORMS: dict[str, Platform] = {"meta": "meta", "google": "google", "tiktok": "tiktok"}


@dataclass
class Fault:
    """A scripted failure: the next `remaining` matching requests get it instead of data."""

    api: Api
    kind: FaultKind
    remaining: int
    retry_after: float
    path_contains: str | None = None
    hold: float = DEFAULT_TIMEOUT_HOLD


def _timeout_response(api: Api) -> Response:
    # What a vendor's front end answers once its deadline passes; the client has given up long
    # before, so this normally reaches nobody.
    if api == "google":
        body: dict[str, object] = {
            "error": {"code": 504, "message": "Deadline exceeded.", "status": "DEADLINE_EXCEEDED"}
        }
    elif api == "tiktok":
        body = {"code": 50002, "message": "Request timed out", "data": {}}
    elif api == "shopify":
        body = {"errors": "Gateway Timeout"}
    elif api == "fairing":
        body = {"error": "Gateway Timeout"}
    else:
        body = {"error": {"message": "Gateway Timeout", "code": 2, "is_transient": True}}
    return json_response(504, body)


def _google_fault(fault: Fault) -> Response:
    # Google Ads API "Understand API errors": 429 RESOURCE_EXHAUSTED carries a QuotaError and
    # the delay to wait in `quotaErrorDetails.retryDelay`; the emulator adds `Retry-After` too.
    if fault.kind == "rate_limit":
        delay = f"{math.ceil(fault.retry_after)}s"
        return json_response(
            429,
            {
                "error": {
                    "code": 429,
                    "message": "Resource has been exhausted (e.g. check quota).",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.ads.googleads.v18.errors."
                            "GoogleAdsFailure",
                            "errors": [
                                {
                                    "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                                    "message": "Too many requests. Retry in " + delay + ".",
                                    "details": {
                                        "quotaErrorDetails": {
                                            "rateScope": "DEVELOPER",
                                            "rateName": "Number of operations for basic access",
                                            "retryDelay": delay,
                                        }
                                    },
                                }
                            ],
                            "requestId": "sbxfault",
                        }
                    ],
                }
            },
            [("Retry-After", f"{fault.retry_after:.1f}")],
        )
    return json_response(
        500,
        {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}},
    )


def _fault_response(fault: Fault, account_id: str) -> Response:
    if fault.api == "google":
        return _google_fault(fault)
    if fault.api == "tiktok":
        if fault.kind == "rate_limit":
            body = {
                "code": 40100,
                "message": "Too many requests: the app reached its QPS limit.",
                "request_id": "20250101000000faultsandbox",
                "data": {},
            }
            return json_response(200, body)
        body = {
            "code": 50000,
            "message": "System error",
            "request_id": "20250101000000faultsandbox",
            "data": {},
        }
        return json_response(500, body)
    if fault.api == "fairing":
        if fault.kind == "rate_limit":
            return json_response(
                429, {"error": "Too Many Requests"}, [("Retry-After", f"{fault.retry_after:.1f}")]
            )
        return json_response(500, {"error": "Internal Server Error"})
    if fault.api == "shopify":
        if fault.kind == "rate_limit":
            return json_response(
                429,
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates "
                    "to resume uninterrupted service."
                },
                [
                    ("Retry-After", f"{fault.retry_after:.1f}"),
                    ("X-Shopify-Shop-Api-Call-Limit", "40/40"),
                ],
            )
        return json_response(500, {"errors": "Internal Server Error"})
    if fault.kind == "rate_limit":
        usage = (
            f'{{"{account_id}":[{{"type":"ads_insights","call_count":100,"total_cputime":40,'
            f'"total_time":40,"estimated_time_to_regain_access":'
            f"{math.ceil(fault.retry_after / 60)}}}]}}"
        )
        return json_response(
            400,
            {
                "error": {
                    "message": "(#80004) There have been too many calls to this ad-account. "
                    "Wait a bit and try again. For more info, please refer to "
                    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"
                    "#ads-management.",
                    "type": "OAuthException",
                    "code": 80004,
                    "error_subcode": 2446079,
                    "fbtrace_id": "AsbXfaultsandbox",
                }
            },
            [("x-business-use-case-usage", usage)],
        )
    return json_response(
        500,
        {
            "error": {
                "message": "An unexpected error has occurred. Please retry your request later.",
                "type": "OAuthException",
                "is_transient": True,
                "code": 2,
                "fbtrace_id": "AsbXfaultsandbox",
            }
        },
    )


def _platform(api: Api) -> Platform:
    platform = _PLATFORMS.get(api)
    if platform is None:
        raise ValueError(f"`{api}` is not an ad platform: use meta, google or tiktok")
    return platform


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: EmulatorServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "martlake-sandbox/1"
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logger.debug("%s " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        host = self.headers.get("Host") or self.server.emulator.base_url.removeprefix("http://")
        response = self.server.emulator._respond(
            self.command, url.path, query, Headers(self.headers.items()), f"http://{host}", body
        )
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _dispatch_quietly(self) -> None:
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a rehearsed timeout): there is nobody left to answer.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch_quietly


class EmulatorServer:
    """Shopify, Meta, Google Ads, TikTok and Fairing emulators for one `Business`, on a loopback
    server.

    Shopify lives under `/shopify` (`shopify_base_url` replaces `https://<shop>`), Meta under
    `/meta` (replaces `https://graph.facebook.com`), Google Ads under `/google`
    (`google_base_url` replaces `https://googleads.googleapis.com`; its OAuth token endpoint is
    `<google_base_url>/token`, replacing `https://oauth2.googleapis.com/token`) and TikTok under
    `/tiktok` (`tiktok_base_url` replaces `https://business-api.tiktok.com`) and Fairing under
    `/fairing` (`fairing_base_url` replaces `https://app.fairing.co`). Use as a context
    manager, or call `start()`/`stop()`; `serve_forever()` blocks until Ctrl-C.

    Args:
        business: The simulated business to serve.
        host: Interface to bind; keep the loopback default.
        port: TCP port; 0 picks a free one (see `base_url`).
        shopify_token: The only Shopify access token accepted.
        meta_token: The only Meta access token accepted.
        tiktok_token: The only TikTok access token accepted.
        fairing_token: The only Fairing API token accepted.
        warm: Generate the business in `start()` rather than on the first request.
        fault_rate: Share of requests (0–1) that fail transiently at random, on top of
            faults queued by `inject_fault`.
        fault_seed: Seed of that randomness, so a faulty run can be replayed.
        fault_kinds: What a random fault is, drawn evenly: `"rate_limit"` (the vendor's
            throttling answer), `"server_error"` (a 500) and/or `"timeout"` (no answer for
            `timeout_hold` seconds, then a 504).
        timeout_hold: Seconds a timeout fault holds the response; make it longer than the
            client's timeout.
        drift: Schema drift every emulator serves (see `set_drift`).

    Example:
        >>> from datetime import date
        >>> import httpx
        >>> from martlake.sandbox import SANDBOX_SHOPIFY_TOKEN, Business, SimulatorConfig
        >>> cfg = SimulatorConfig(start_date=date(2025, 1, 1), end_date=date(2025, 1, 3),
        ...                       orders_per_day=5)
        >>> with EmulatorServer(Business(cfg)) as server:
        ...     r = httpx.get(f"{server.shopify_base_url}/admin/api/2024-10/shop.json",
        ...                   headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN})
        >>> r.json()["shop"]["iana_timezone"]
        'America/New_York'
    """

    def __init__(
        self,
        business: Business,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        shopify_token: str = SANDBOX_SHOPIFY_TOKEN,
        meta_token: str = SANDBOX_META_TOKEN,
        tiktok_token: str = SANDBOX_TIKTOK_TOKEN,
        fairing_token: str = SANDBOX_FAIRING_TOKEN,
        warm: bool = True,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        fault_kinds: Iterable[FaultKind] = DEFAULT_FAULT_KINDS,
        timeout_hold: float = DEFAULT_TIMEOUT_HOLD,
        drift: Iterable[DriftKind] = (),
    ) -> None:
        self.business = business
        self.host = host
        self.port = port
        self.warm = warm
        self.shopify = ShopifyApp(business, shopify_token)
        self.meta = MetaAdsApp(business, meta_token)
        self.google = GoogleAdsApp(business)
        self.tiktok = TikTokAdsApp(business, tiktok_token)
        self.fairing = FairingApp(business, fairing_token)
        self.request_log: list[RequestLogEntry] = []
        self._faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self.fault_rate = fault_rate
        self._fault_rng = random.Random(fault_seed)
        self.fault_kinds = _fault_kinds(fault_kinds)
        self.timeout_hold = timeout_hold
        self.faults_served = 0
        self.faults_by_kind: Counter[FaultKind] = Counter()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.drift: frozenset[DriftKind] = frozenset()
        self.set_drift(drift)

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server."""
        if self._server is None:
            raise RuntimeError("EmulatorServer is not started: call start() or use `with`.")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def shopify_base_url(self) -> str:
        """What to use instead of `https://<shop>.myshopify.com`."""
        return f"{self.base_url}/shopify"

    @property
    def meta_base_url(self) -> str:
        """What to use instead of `https://graph.facebook.com`."""
        return f"{self.base_url}/meta"

    @property
    def google_base_url(self) -> str:
        """What to use instead of `https://googleads.googleapis.com`; `/token` is the OAuth URL."""
        return f"{self.base_url}/google"

    @property
    def tiktok_base_url(self) -> str:
        """What to use instead of `https://business-api.tiktok.com`."""
        return f"{self.base_url}/tiktok"

    @property
    def fairing_base_url(self) -> str:
        """What to use instead of `https://app.fairing.co`."""
        return f"{self.base_url}/fairing"

    def start(self) -> EmulatorServer:
        """Bind the port and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        if self.warm:
            self.shopify.prepare()
        self._stopping.clear()
        server = _Server((self.host, self.port), _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="martlake-sandbox-http",
            daemon=True,
        )
        self._thread.start()
        logger.info("sandbox emulators listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (Ctrl-C), then stop."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def inject_fault(
        self,
        api: Api,
        kind: FaultKind = "rate_limit",
        *,
        times: int = 1,
        retry_after: float = 1.0,
        path_contains: str | None = None,
        hold: float | None = None,
    ) -> None:
        """Make the next `times` requests to `api` fail the way the vendor fails.

        Args:
            api: `"shopify"`, `"meta"`, `"google"`, `"tiktok"` or `"fairing"`.
            kind: `"rate_limit"` (Shopify and Fairing: 429 with `Retry-After`; Meta: 400 with
                code 80004 and `x-business-use-case-usage`; Google: 429 RESOURCE_EXHAUSTED with
                a QuotaError and `Retry-After`; TikTok: HTTP 200 with code 40100) or
                `"server_error"` (500; TikTok's body has code 50000) or `"timeout"` (nothing
                for `hold` seconds, by when the client has given up, then a 504).
            times: How many matching requests fail before normal service resumes.
            retry_after: Seconds announced to the client.
            path_contains: Only requests whose path contains this text are affected.
            hold: Seconds a timeout holds the response; default `timeout_hold`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind `{kind}`: use {', '.join(FAULT_KINDS)}")
        fault = Fault(
            api,
            kind,
            times,
            retry_after,
            path_contains,
            self.timeout_hold if hold is None else hold,
        )
        with self._faults_lock:
            self._faults.append(fault)

    def set_drift(self, kinds: Iterable[DriftKind]) -> None:
        """From now on, serve the schema drift `kinds` from every emulator (none: no drift).

        `"new_field"` adds a field the API did not send before, `"renamed_field"` renames a
        required metric, `"numbers_as_strings"` swaps JSON numbers and numeric strings, and
        `"dash_values"` sends `"-"` for zero metrics. Each emulator app reads its `drift`.

        Raises:
            ValueError: A kind is not one of those four.
        """
        chosen = frozenset(kinds)
        unknown = sorted(chosen - set(DRIFT_KINDS))
        if unknown:
            raise ValueError(f"unknown drift kind `{unknown[0]}`: use {', '.join(DRIFT_KINDS)}")
        self.drift = chosen
        for app in (self.shopify, self.meta, self.google, self.tiktok, self.fairing):
            # Plain attribute assignment, so apps that do not read `drift` yet are unaffected.
            setattr(app, "drift", chosen)  # noqa: B010

    def delete_order(self, order_id: int) -> None:
        """Delete a Shopify order: gone from every endpoint and from `business.truth`, with a
        `destroy` event in `events.json` (see `ShopifyApp.delete_order`)."""
        self.shopify.delete_order(order_id)

    def delete_campaign(self, api: Api, campaign_id: str) -> None:
        """From now on, leave `campaign_id` out of every report of `api`, as after a deletion.

        Ad platforms stop reporting a deleted campaign (Google lists it as `REMOVED`), so a
        re-extraction returns no rows for it, and none at all for a day it had to itself.

        Args:
            api: `"meta"`, `"google"` or `"tiktok"`.
            campaign_id: A campaign of the simulated account.

        Raises:
            ConfigError: The campaign is not one of the simulated account's.
        """
        self.business.delete_campaign(_platform(api), campaign_id)
        self._forget_reports()

    def restate(self, api: Api, last_days: int, factor: Decimal | float | str) -> None:
        """From now on, serve the last `last_days` days of `api` with spend (Google: cost),
        conversions and conversion value multiplied by `factor`, in whole cents (Google cost:
        whole micros), half-even.

        See `Business.restate`; `served_spend_per_day` gives the new numbers.
        """
        self.business.restate(_platform(api), last_days, factor)
        self._forget_reports()

    def served_spend_per_day(self, api: Api) -> dict[date, Decimal]:
        """The spend per day `api` serves now, after deletions and restatements (Google: each
        campaign-day's micros rounded half-even to the cent, as staging rounds them)."""
        return self.business.truth.spend_per_day(_platform(api))

    def _forget_reports(self) -> None:
        self.meta.forget_reports()
        self.tiktok.forget_reports()

    def _take_fault(self, api: Api, path: str) -> Fault | None:
        with self._faults_lock:
            for fault in self._faults:
                if fault.api == api and (fault.path_contains or "") in path:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    self.faults_served += 1
                    self.faults_by_kind[fault.kind] += 1
                    return fault
            if self.fault_rate and self._fault_rng.random() < self.fault_rate:
                # Random transient faults, as a flaky network and busy vendor APIs give:
                # throttling with a zero wait, a 500 or a hang, drawn at random.
                kind: FaultKind = self._fault_rng.choice(self.fault_kinds)
                self.faults_served += 1
                self.faults_by_kind[kind] += 1
                return Fault(api, kind, 1, 0.0, None, self.timeout_hold)
        return None

    def _respond(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Headers,
        origin: str,
        body: bytes = b"",
    ) -> Response:
        self.request_log.append((method, path, dict(query)))
        api: Api
        if path.startswith("/shopify/"):
            api, prefix, app_handle = "shopify", "/shopify", self.shopify.handle
        elif path.startswith("/meta/"):
            api, prefix, app_handle = "meta", "/meta", self.meta.handle
        elif path.startswith("/google/"):
            api, prefix, app_handle = "google", "/google", self.google.handle
        elif path.startswith("/tiktok/"):
            api, prefix, app_handle = "tiktok", "/tiktok", self.tiktok.handle
        elif path.startswith("/fairing/"):
            api, prefix, app_handle = "fairing", "/fairing", self.fairing.handle
        else:
            return json_response(
                404,
                {
                    "error": f"no emulator at {path}; use /shopify, /meta, /google, /tiktok or "
                    "/fairing"
                },
            )
        fault = self._take_fault(api, path)
        if fault is not None and fault.kind == "timeout":
            self._stopping.wait(fault.hold)
            return _timeout_response(api)
        if fault is not None:
            return _fault_response(fault, self.business.config.meta_account_id)
        request = Request(method, path[len(prefix) :], query, headers, origin + prefix, body)
        try:
            return app_handle(request)
        except Exception as exc:
            logger.exception("sandbox %s emulator failed on %s %s", api, method, path)
            return json_response(500, {"errors": f"sandbox emulator bug: {exc!r}"})


def _fault_kinds(kinds: Iterable[FaultKind]) -> tuple[FaultKind, ...]:
    chosen = tuple(dict.fromkeys(kinds))
    unknown = [k for k in chosen if k not in FAULT_KINDS]
    if unknown or not chosen:
        raise ValueError(
            f"fault kinds must be some of {', '.join(FAULT_KINDS)}, got {list(chosen)}"
        )
    return chosen
