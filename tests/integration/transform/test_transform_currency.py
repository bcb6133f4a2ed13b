"""marketing_unified adds up one currency: other currencies convert at `[reporting]` fixed rates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from martlake.pipeline._steps import _cause
from martlake.transform import DbtResult, run_dbt
from tests.integration.transform.helpers import load_raw_zone, query

pytestmark = pytest.mark.xdist_group("transform_currency")

RATE = Decimal("1.0835")


@dataclass
class Built:
    database: Path
    result: DbtResult

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        return query(self.database, sql)


def build_with(root: Path, sql: str, vars: dict[str, object]) -> Built:
    root.mkdir(parents=True)
    database = root / "warehouse.duckdb"
    load_raw_zone(database)
    with duckdb.connect(str(database)) as con:
        con.execute(sql)
    result = run_dbt("build", database=database, state_dir=root / "state", vars=vars)
    return Built(database, result)


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def tiktok_in_eur(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_with(
        tmp_path_factory.mktemp("fx") / "eur",
        "update raw_tiktok_ads.ad_stats set currency = 'EUR'",
        {"fx_rates": {"EUR": str(RATE)}},
    )


def test_spend_in_another_currency_is_converted_at_the_configured_rate(
    tiktok_in_eur: Built,
) -> None:
    assert tiktok_in_eur.result.success, tiktok_in_eur.result.failed
    platform = dict(
        tiktok_in_eur.rows(
            "select date, sum(spend) from marts.tiktok_unified where currency_code = 'EUR' "
            "group by date"
        )
    )
    assert platform
    marketing = tiktok_in_eur.rows(
        "select date, spend, spend_original, original_currency_code, currency_code "
        "from marts.marketing_unified where channel = 'tiktok' and spend_original is not null"
    )
    assert {d: (s, o, c, r) for d, s, o, c, r in marketing} == {
        d: (cents(v * RATE), v, "EUR", "USD") for d, v in platform.items()
    }


def test_spend_already_in_the_reporting_currency_is_left_as_it_is(tiktok_in_eur: Built) -> None:
    rows = tiktok_in_eur.rows(
        "select m.date, m.spend, m.spend_original, m.original_currency_code, f.spend "
        "from marts.marketing_unified as m join ("
        "  select date, sum(spend) as spend from marts.facebook_unified group by date"
        ") as f using (date) where m.channel = 'meta'"
    )
    assert rows
    assert all(s == f and o is None and c is None for _, s, o, c, f in rows)


def test_reporting_currency_converts_the_shop_revenue_too(tmp_path: Path) -> None:
    built = build_with(
        tmp_path / "eur_reporting",
        "update raw_tiktok_ads.ad_stats set currency = 'EUR'",
        {"reporting_currency": "EUR", "fx_rates": {"USD": "0.92"}},
    )
    assert built.result.success, built.result.failed
    revenue = dict(
        built.rows(
            "select order_date || channel, sum(net_sales) from marts.shopify_unified "
            "group by all having sum(net_sales) <> 0"
        )
    )
    marketing = dict(
        built.rows(
            "select date || channel, attributed_revenue from marts.marketing_unified "
            "where attributed_orders > 0 and attributed_revenue <> 0"
        )
    )
    assert marketing == {k: cents(v * Decimal("0.92")) for k, v in revenue.items()}
    tiktok = built.rows(
        "select distinct spend_original is null, currency_code from marts.marketing_unified "
        "where channel = 'tiktok' and spend <> 0"
    )
    assert tiktok == [(True, "EUR")]


def test_a_currency_without_rate_fails_the_run_naming_it_and_the_key(tmp_path: Path) -> None:
    built = build_with(
        tmp_path / "no_rate", "update raw_tiktok_ads.ad_stats set currency = 'EUR'", {}
    )
    assert not built.result.success
    fx = [n for n in built.result.failed if n.name == "assert_fx_rate_for_every_currency"]
    assert [n.status for n in fx] == ["error"]
    cause = _cause(fx[0].message)
    assert cause is not None and "\n" not in cause
    assert cause.startswith("marketing_unified: no exchange rate into the reporting currency `USD`")
    assert "`EUR`" in cause and "`reporting.fx_rates.EUR`" in cause
