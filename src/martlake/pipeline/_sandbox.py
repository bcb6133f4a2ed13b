"""Point the configured sources at local emulators when `[sandbox] enabled = true`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from martlake.config import Project
from martlake.config._models import DEFAULT_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from martlake.sandbox import EmulatorServer, SimulatorConfig

DEFAULT_SHOP = "dtc-brand.myshopify.com"
DEFAULT_META_ACCOUNT = "1234567890"
DEFAULT_GOOGLE_CUSTOMER = "1234567890"
DEFAULT_TIKTOK_ADVERTISER = "7000000000000000001"
SANDBOX_TIMEOUT_MARGIN = 1.0


def business_clock(project: Project) -> datetime | None:
    """The present of a sandbox's simulated business (its days close against it); `None` for a
    real project, whose present is now."""
    return simulator_config(project).effective_as_of if project.settings.sandbox.enabled else None


def simulator_config(project: Project, today: datetime | None = None) -> SimulatorConfig:
    """The simulated business a project's `[sandbox]` section describes."""
    from martlake.sandbox import SimulatorConfig

    box = project.settings.sandbox
    sources = project.settings.sources
    now = today or datetime.now(UTC)
    end = box.end_date or (now.astimezone(ZoneInfo(box.timezone)).date() - timedelta(days=1))
    start = box.start_date or end - timedelta(days=box.days - 1)
    return SimulatorConfig(
        seed=box.seed,
        start_date=start,
        end_date=end,
        orders_per_day=box.orders_per_day,
        growth=box.growth,
        timezone=box.timezone,
        currency=box.currency,
        ad_timezones=dict(box.ad_timezones),
        ad_currencies=dict(box.ad_currencies),
        shop_domain=sources.shopify.shop if sources.shopify else DEFAULT_SHOP,
        meta_account_id=(
            sources.meta_ads.account_ids[0].removeprefix("act_")
            if sources.meta_ads
            else DEFAULT_META_ACCOUNT
        ),
        google_customer_id=(
            sources.google_ads.customer_ids[0] if sources.google_ads else DEFAULT_GOOGLE_CUSTOMER
        ),
        tiktok_advertiser_id=(
            sources.tiktok_ads.advertiser_ids[0]
            if sources.tiktok_ads
            else DEFAULT_TIKTOK_ADVERTISER
        ),
        # Without a Fairing source nobody answers the survey, so older projects stay the same.
        survey_rate=box.survey_rate if sources.fairing else 0.0,
    )


def sandbox_server(project: Project, **options: Any) -> EmulatorServer:
    """The emulators of a project's `[sandbox]`, not started, with its rehearsed faults.

    `deleted_campaigns` and `restate_last_days`/`restate_factor` are applied before the
    first request, so every run of the project sees the business as changed by them; the
    emulators serve the configured `drift`, and a `timeout` fault holds its response for
    `SANDBOX_TIMEOUT_MARGIN` seconds longer than the sources' timeout in sandbox runs.
    `options` go to `EmulatorServer` (host, port, ...).
    """
    from martlake.sandbox import Business, EmulatorServer
    from martlake.sandbox.simulator import PLATFORMS

    box = project.settings.sandbox
    server = EmulatorServer(
        Business(simulator_config(project)),
        fault_rate=box.fault_rate,
        fault_seed=box.seed,
        fault_kinds=box.fault_kinds,
        timeout_hold=_client_timeout(project) + SANDBOX_TIMEOUT_MARGIN,
        drift=box.drift,
        **options,
    )
    for spec in box.deleted_campaigns:
        api, campaign_id = spec.split(":", 1)
        server.delete_campaign(api, campaign_id)  # type: ignore[arg-type]
    for platform in PLATFORMS:
        server.restate(platform, box.restate_last_days, box.restate_factor)
    return server


def _client_timeout(project: Project) -> float:
    """The longest HTTP timeout a source has in the project's sandbox runs."""
    timeout = project.settings.sandbox.client_timeout
    if timeout is not None:
        return timeout
    own = [getattr(cfg, "timeout_seconds", None) for cfg in configured_sources(project).values()]
    return max([t for t in own if t is not None], default=DEFAULT_TIMEOUT_SECONDS)


def configured_sources(project: Project) -> dict[str, Any]:
    """Source name to its settings section, for every configured source."""
    sources = project.settings.sources
    return {
        name: cfg
        for name in type(sources).model_fields
        if (cfg := getattr(sources, name)) is not None
    }


@contextmanager
def source_settings(project: Project) -> Iterator[dict[str, Any]]:
    """Yield each configured source's settings, served by emulators in sandbox mode."""
    sources = configured_sources(project)
    if not project.settings.sandbox.enabled:
        yield sources
        return
    timeout = project.settings.sandbox.client_timeout
    extra = {} if timeout is None else {"timeout_seconds": timeout}
    with sandbox_server(project) as server:
        updates: dict[str, dict[str, object]] = {
            "shopify": {"base_url": server.shopify_base_url},
            "meta_ads": {"base_url": server.meta_base_url},
            "google_ads": {
                "base_url": server.google_base_url,
                "token_url": f"{server.google_base_url}/token",
            },
            "tiktok_ads": {"base_url": server.tiktok_base_url},
            "fairing": {"base_url": server.fairing_base_url},
        }
        yield {
            name: cfg.model_copy(update={**updates[name], **extra}) if name in updates else cfg
            for name, cfg in sources.items()
        }
