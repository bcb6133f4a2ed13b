"""`martlake run` on a sandbox that times out, drifts, and has ad accounts in another timezone
and currency: the marts still equal the simulator's truth, each account in its own days and
currency, and marketing_unified adds up one currency."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from martlake.pipeline import simulator_config
from martlake.pipeline._sandbox import sandbox_server
from martlake.sandbox import Business
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import cli, make_sandbox_project, project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]
RATE = Decimal("1.0835")
MARTS = {"meta": "facebook_unified", "google": "google_ads_unified", "tiktok": "tiktok_unified"}
SANDBOX = """[sandbox]
enabled = true
fault_rate = 0.08
fault_kinds = ["rate_limit", "server_error", "timeout"]
timeout_seconds = 1.0
drift = ["new_field", "numbers_as_strings"]
ad_timezones = { meta = "Asia/Tokyo", google = "America/Los_Angeles" }
ad_currencies = { tiktok = "EUR" }
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("faulty") / "shop",
        start=date(2025, 1, 1),
        end=date(2025, 1, 31),
        orders_per_day=10,
    )
    config = root / "martlake.toml"
    text = config.read_text()
    assert "[sandbox]\nenabled = true\n" in text
    text = text.replace("[sandbox]\nenabled = true\n", SANDBOX)
    config.write_text(text + f'\n[reporting.fx_rates]\nEUR = "{RATE}"\n')
    return root


@pytest.fixture(scope="module")
def run(root: Path) -> tuple[int, str]:
    done = cli(root, "run", "--skip-publish")
    return done.returncode, done.stdout + done.stderr


def test_run_exits_0_through_timeouts_and_drift(root: Path, run: tuple[int, str]) -> None:
    code, output = run
    assert code == 0, output
    wh = DuckDBWarehouse(project(root).warehouse_path)
    retries = wh.query("select sum(retries) from martlake.source_log")[0][0]
    assert retries > 0, "the fault rate should have made some requests fail"
    # Drift is served by each emulator app (implemented by the connector helpers); the config
    # reaches all four apps.
    server = sandbox_server(project(root))
    for app in (server.shopify, server.meta, server.google, server.tiktok):
        assert app.drift == frozenset({"new_field", "numbers_as_strings"})  # type: ignore[attr-defined]


@pytest.mark.parametrize("platform", sorted(MARTS))
def test_platform_marts_equal_truth_per_account_day_in_account_currency(
    root: Path, run: tuple[int, str], platform: str
) -> None:
    assert run[0] == 0, run[1]
    proj = project(root)
    truth = Business(simulator_config(proj)).truth
    config = simulator_config(proj)
    wh = DuckDBWarehouse(proj.warehouse_path)
    rows = wh.query(
        f"select date, currency_code, sum(spend) from marts.{MARTS[platform]} group by 1, 2"
    )
    assert {c for _, c, _ in rows} == {config.account_currency(platform)}  # type: ignore[arg-type]
    expected = {d: v for d, v in truth.spend_per_day(platform).items() if v}  # type: ignore[arg-type]
    assert {d: v for d, _, v in rows if v} == expected
    raw_zone = {
        "meta": "select distinct account_timezone from raw_meta_ads.insights",
        "google": "select distinct time_zone from raw_google_ads.campaign_stats",
        "tiktok": "select distinct timezone from raw_tiktok_ads.ad_stats",
    }
    assert wh.query(raw_zone[platform]) == [(config.account_timezone(platform),)]  # type: ignore[arg-type]
    # Tokyo is 14 hours ahead of New York: its account has the day after the shop's last one
    # (partly); Los Angeles, behind, ends on the shop's last day, like the New York account.
    assert max(expected) == (date(2025, 2, 1) if platform == "meta" else date(2025, 1, 31))


def test_marketing_unified_converts_eur_spend_at_the_configured_rate(
    root: Path, run: tuple[int, str]
) -> None:
    assert run[0] == 0, run[1]
    proj = project(root)
    truth = Business(simulator_config(proj)).truth
    wh = DuckDBWarehouse(proj.warehouse_path)
    rows = wh.query(
        "select date, spend, spend_original, original_currency_code, currency_code "
        "from marts.marketing_unified where channel = 'tiktok' and spend <> 0"
    )
    expected = {
        d: ((v * RATE).quantize(Decimal("0.01"), ROUND_HALF_UP), v, "EUR", "USD")
        for d, v in truth.spend_per_day("tiktok").items()
        if v
    }
    assert {d: rest for d, *rest in rows} == {d: list(v) for d, v in expected.items()}
    meta = wh.query(
        "select distinct spend_original is null, original_currency_code, currency_code "
        "from marts.marketing_unified where channel = 'meta'"
    )
    assert meta == [(True, None, "USD")]


def test_a_currency_without_rate_fails_the_run_with_one_line_naming_it(
    root: Path, run: tuple[int, str]
) -> None:
    assert run[0] == 0, run[1]
    done = cli(root, "run", "--only", "transform", env={"MARTLAKE__REPORTING__CURRENCY": "GBP"})
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    # The console wraps long lines; the message itself is one line. The configured EUR rate
    # now counts as EUR → GBP, so only the shop's USD lacks one.
    text = " ".join(output.split())
    assert (
        "marketing_unified: no exchange rate into the reporting currency `GBP` for `USD`: "
        "set `reporting.fx_rates.USD` in martlake.toml" in text
    ), output
