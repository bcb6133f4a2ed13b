"""Restated and deleted ad data: a re-run replaces the days inside each lookback window.

The first run loads the simulated business; then the project's `[sandbox]` restates the last 40
days by 1.1, deletes a Meta campaign and every TikTok campaign, and a second run re-reads each
platform's lookback window (Meta 28 days, Google 14, TikTok 7 before the watermark). Inside the
window the marts show what the emulators serve now; before it they keep the first run's numbers,
which is the documented lookback contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from martlake.config import Project, load_project
from martlake.errors import ConfigError
from martlake.pipeline import RunOptions, run_pipeline, sandbox_server, simulator_config
from martlake.sandbox import SANDBOX_META_TOKEN, Business, EmulatorServer, SimulatorConfig
from martlake.sandbox._catalog import TIKTOK_CAMPAIGNS
from martlake.sandbox.simulator import Platform
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import make_sandbox_project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("restatement")]
START, END = date(2025, 1, 10), date(2025, 2, 28)
LOOKBACK: dict[Platform, int] = {"meta": 28, "google": 14, "tiktok": 7}
SOURCES: dict[Platform, str] = {"meta": "meta_ads", "google": "google_ads", "tiktok": "tiktok_ads"}
MARTS: dict[Platform, str] = {
    "meta": "facebook_unified",
    "google": "google_ads_unified",
    "tiktok": "tiktok_unified",
}
RESTATED_DAYS = 40
FACTOR = Decimal("1.1")
# The second run deletes every TikTok campaign: `metric_drops` rightly calls TikTok's zero
# spend CRITICAL (tests/integration/quality cover that); here only the numbers matter.
SKIP = RunOptions(skip=frozenset({"quality", "publish"}))


@dataclass
class Rerun:
    project: Project
    warehouse: DuckDBWarehouse
    before: Business
    after: Business
    watermark: dict[Platform, date]
    deleted_meta_campaign: str

    def cutoff(self, platform: Platform) -> date:
        """First day the second run re-read."""
        return self.watermark[platform] - timedelta(days=LOOKBACK[platform])

    def spend_per_day(self, platform: Platform) -> dict[date, Decimal]:
        rows = self.warehouse.query(
            "select date, spend from marts.marketing_unified where channel = ?", [platform]
        )
        return {d: v for d, v in rows if v}


def _nonzero(values: dict[date, Decimal]) -> dict[date, Decimal]:
    return {d: v for d, v in values.items() if v}


@pytest.fixture(scope="module")
def rerun(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rerun]:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("restate"), start=START, end=END, orders_per_day=15
    )
    first = load_project(root, environ={})
    assert run_pipeline(first, SKIP).exit_code == 0
    wh = DuckDBWarehouse(first.warehouse_path)
    watermark: dict[Platform, date] = {
        platform: wh.query(f"select max(date) from marts.{mart}")[0][0]
        for platform, mart in MARTS.items()
    }
    # The Meta campaign with the most spend inside the Meta lookback window.
    campaign = wh.query(
        "select campaign_id from marts.facebook_unified where date >= ? "
        "group by 1 order by sum(spend) desc limit 1",
        [watermark["meta"] - timedelta(days=LOOKBACK["meta"])],
    )[0][0]
    deleted = [f"meta:{campaign}", *(f"tiktok:{c.id}" for c in TIKTOK_CAMPAIGNS)]
    config = root / "martlake.toml"
    config.write_text(
        config.read_text().replace(
            "[sandbox]\n",
            f"[sandbox]\nrestate_last_days = {RESTATED_DAYS}\nrestate_factor = {FACTOR}\n"
            f"deleted_campaigns = {deleted!r}\n".replace("'", '"'),
            1,
        )
    )
    second = load_project(root, environ={})
    assert second.settings.sandbox.deleted_campaigns == deleted
    assert run_pipeline(second, SKIP).exit_code == 0
    yield Rerun(
        project=second,
        warehouse=DuckDBWarehouse(second.warehouse_path),
        before=Business(simulator_config(first)),
        after=sandbox_server(second).business,
        watermark=watermark,
        deleted_meta_campaign=campaign,
    )


def test_each_run_records_the_windows_it_read_completely(rerun: Rerun) -> None:
    for platform, source in SOURCES.items():
        rows = rerun.warehouse.query(
            f"select _extract_run_id, min(date_start), max(date_end) "
            f"from raw_{source}.extract_windows group by 1 order by min(_ingested_at)"
        )
        assert len(rows) == 2, source
        (_, first_start, _), (_, second_start, second_end) = rows
        assert first_start == START
        assert second_start == rerun.cutoff(platform)
        assert second_end >= END


@pytest.mark.parametrize("platform", sorted(LOOKBACK))
def test_days_inside_the_lookback_show_what_the_platform_serves_now(
    rerun: Rerun, platform: Platform
) -> None:
    cutoff = rerun.cutoff(platform)
    marts = {d: v for d, v in rerun.spend_per_day(platform).items() if d >= cutoff}
    now = {d: v for d, v in rerun.after.truth.spend_per_day(platform).items() if d >= cutoff}
    assert marts == _nonzero(now)
    if platform != "tiktok":
        before = rerun.before.truth.spend_per_day(platform)
        assert any(marts[d] != before[d] for d in marts), "nothing was restated"


@pytest.mark.parametrize("platform", sorted(LOOKBACK))
def test_days_before_the_lookback_keep_the_first_runs_numbers(
    rerun: Rerun, platform: Platform
) -> None:
    cutoff = rerun.cutoff(platform)
    restated_from = END - timedelta(days=RESTATED_DAYS - 1)
    marts = {d: v for d, v in rerun.spend_per_day(platform).items() if d < cutoff}
    old = {d: v for d, v in rerun.before.truth.spend_per_day(platform).items() if d < cutoff}
    assert marts == _nonzero(old)
    served = rerun.after.truth.spend_per_day(platform)
    stale = [d for d in marts if d >= restated_from and served[d] != marts[d]]
    assert stale, "the platform restated days outside the lookback too"


def test_a_deleted_campaign_disappears_inside_the_lookback_only(rerun: Rerun) -> None:
    rows = rerun.warehouse.query(
        "select date >= ?, count(*) from marts.facebook_unified where campaign_id = ? group by 1",
        [rerun.cutoff("meta"), rerun.deleted_meta_campaign],
    )
    assert dict(rows).get(True) is None
    assert dict(rows).get(False, 0) > 0
    per_campaign = rerun.warehouse.query(
        "select date, campaign_id, sum(spend) from marts.facebook_unified where date >= ? "
        "group by 1, 2",
        [rerun.cutoff("meta")],
    )
    now = rerun.after.truth.spend_per_campaign_day("meta")
    assert {(d, c): v for d, c, v in per_campaign if v} == {
        k: v for k, v in now.items() if v and k[0] >= rerun.cutoff("meta")
    }


def test_an_account_day_that_became_empty_is_empty_downstream(rerun: Rerun) -> None:
    cutoff = rerun.cutoff("tiktok")
    assert rerun.warehouse.query(
        "select count(*) from marts.tiktok_unified where date >= ?", [cutoff]
    ) == [(0,)]
    assert rerun.warehouse.query(
        "select count(*) from marts.marketing_unified "
        "where channel = 'tiktok' and date >= ? and (spend <> 0 or impressions <> 0)",
        [cutoff],
    ) == [(0,)]
    assert rerun.warehouse.query(
        "select count(*) from raw_tiktok_ads.ad_stats where stat_date >= ?", [cutoff]
    ) != [(0,)]


def test_restating_rounds_cents_half_even_and_deleting_empties_every_report() -> None:
    config = SimulatorConfig(start_date=date(2025, 1, 1), end_date=date(2025, 1, 5))
    with EmulatorServer(Business(config), warm=False) as server:
        rows = server.business._dataset().insights
        day = rows[-1].day
        cents = {r.ad.id: r.spend for r in rows if r.day == day}
        server.restate("meta", 1, "0.5")
        halved = {r.ad.id: r.spend for r in server.business._dataset().insights if r.day == day}
        expected = {
            ad: int((Decimal(c) / 2).to_integral_value(rounding="ROUND_HALF_EVEN"))
            for ad, c in cents.items()
        }
        assert halved == expected
        campaign = rows[-1].campaign.id
        server.delete_campaign("meta", campaign)
        body = httpx.get(
            f"{server.meta_base_url}/v21.0/act_{config.meta_account_id}/insights",
            params={
                "level": "campaign",
                "time_increment": "1",
                "fields": "campaign_id,spend",
                "time_range": f'{{"since":"{config.start_date}","until":"{config.end_date}"}}',
                "limit": 500,
            },
            headers={"Authorization": f"Bearer {SANDBOX_META_TOKEN}"},
        ).json()
        assert body["data"]
        assert campaign not in {row["campaign_id"] for row in body["data"]}
        assert sum(Decimal(row["spend"]) for row in body["data"]) == sum(
            server.served_spend_per_day("meta").values()
        )


def test_an_unknown_campaign_is_a_config_error() -> None:
    server = EmulatorServer(Business(SimulatorConfig(start_date=START, end_date=START)))
    with pytest.raises(ConfigError, match="`meta:42` is not a campaign"):
        server.delete_campaign("meta", "42")
