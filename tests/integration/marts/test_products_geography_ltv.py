"""Product, geography and customer-value marts on a sandbox business equal the simulator's truth.

One pipeline run (Shopify only, 105 days) is shared by the module; expected values are
computed from the simulator's records in products_ltv_truth.
"""

from __future__ import annotations

import json
import shutil
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from martlake.config import Project
from martlake.pipeline import RunOptions, run_pipeline, simulator_config
from martlake.pipeline._steps import dbt_vars
from martlake.sandbox import Business
from martlake.sandbox._catalog import PRODUCTS
from martlake.sandbox._records import Dataset
from martlake.transform import run_dbt
from martlake.warehouse import DuckDBWarehouse
from tests.integration.marts import products_ltv_truth as truth
from tests.sandbox_project import make_sandbox_project, project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("marts_products_ltv")]
START, END = date(2025, 1, 1), date(2025, 4, 15)
NEW_MODELS = (
    "product_performance",
    "product_kpis",
    "premium_products",
    "sales_by_geography",
    "customer_ltv",
    "ltv_cohorts",
)


@dataclass
class Built:
    project: Project
    warehouse: DuckDBWarehouse
    dataset: Dataset


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("products_ltv"), start=START, end=END, orders_per_day=25
    )
    truth.shopify_only(root)
    proj = project(root)
    result = run_pipeline(proj, RunOptions(skip=truth.MARTS_ONLY))
    assert result.exit_code == 0, result.steps
    business = Business(simulator_config(proj))
    yield Built(proj, DuckDBWarehouse(proj.warehouse_path), business._dataset())


def test_every_new_model_is_built_and_all_its_dbt_tests_pass(built: Built) -> None:
    results = json.loads(
        (built.project.state_dir / "dbt" / "target" / "run_results.json").read_text()
    )["results"]
    status = {r["unique_id"]: r["status"] for r in results}
    for model in NEW_MODELS:
        assert status[f"model.martlake.{model}"] == "success"
        tests = {k: v for k, v in status.items() if k.startswith("test.") and f"_{model}" in k}
        assert len(tests) >= 3, model
        assert set(tests.values()) == {"pass"}, tests
    for model in NEW_MODELS:
        assert built.warehouse.query(f"select count(*) from marts.{model}")[0][0] > 0, model


def test_product_performance_equals_truth_per_month_product_and_variant(built: Built) -> None:
    rows = built.warehouse.query(
        "select month, product_id, variant_id, units, returned_units, orders, gross_sales,"
        " discounts, returns, net_sales from marts.product_performance"
    )
    actual = {(m, p, v): tuple(rest) for m, p, v, *rest in rows}
    expected = {k: cell.row() for k, cell in truth.product_months(built.dataset).items()}
    assert actual == expected
    assert any(row[4] for row in actual.values()), "no returns: the test proves nothing"


def test_product_performance_costs_goods_at_the_catalogs_unit_costs(built: Built) -> None:
    rows = built.warehouse.query(
        "select month, product_id, variant_id, cost_of_goods, net_sales - cost_of_goods,"
        " gross_margin from marts.product_performance"
    )
    expected = {
        key: None if cell.cost is None else truth.cents(cell.cost)
        for key, cell in truth.product_months(built.dataset).items()
    }
    assert {(m, p, v): cost for m, p, v, cost, _, _ in rows} == expected
    assert any(cost for cost in expected.values()), "no costs: the test proves nothing"
    assert all(margin == gross_margin for *_, margin, gross_margin in rows)


def test_product_performance_names_each_variant_as_the_catalog_does(built: Built) -> None:
    catalog = {v.id: (p.title, v.title, v.sku) for p in PRODUCTS for v in p.variants}
    rows = built.warehouse.query(
        "select distinct variant_id, product_title, variant_title, sku, currency_code"
        " from marts.product_performance"
    )
    assert {v: (t, vt, s) for v, t, vt, s, _ in rows} == {v: catalog[v] for v, *_ in rows}
    assert {row[4] for row in rows} == {"USD"}


def test_product_kpis_add_up_the_months_and_rate_refunds_per_unit(built: Built) -> None:
    cells = truth.product_months(built.dataset)
    sold: dict[int, list[date]] = {}
    for o in built.dataset.orders:
        for line in o.lines:
            sold.setdefault(line.product.id, []).append(o.local_date)
    rows = built.warehouse.query(
        "select product_id, units, returned_units, orders, net_sales, first_sold_date,"
        " last_sold_date, average_unit_price, refund_rate from marts.product_kpis"
    )
    assert {r[0] for r in rows} == set(sold)
    for pid, units, returned, orders, net, first, last, price, rate in rows:
        mine = [c for (_, p, _), c in cells.items() if p == pid]
        assert units == sum(c.units for c in mine)
        assert returned == sum(c.returned_units for c in mine)
        assert orders == len(set().union(*(c.orders for c in mine)))
        assert net == sum(c.row()[6] for c in mine)
        assert (first, last) == (min(sold[pid]), max(sold[pid]))
        assert price == pytest.approx(sum(c.gross for c in mine) / 100 / units)
        assert rate == pytest.approx(returned / units)


def _premium(dataset: Dataset, threshold: float) -> set[int]:
    units: dict[int, int] = {}
    gross: dict[int, int] = {}
    for o in dataset.orders:
        for line in o.lines:
            units[line.product.id] = units.get(line.product.id, 0) + line.quantity
            gross[line.product.id] = gross.get(line.product.id, 0) + line.gross
    prices = {p: gross[p] / units[p] for p in units}
    mean, sd = statistics.fmean(prices.values()), statistics.pstdev(prices.values())
    return {p for p, price in prices.items() if (price - mean) / sd > threshold}


def test_premium_products_are_the_price_outliers_above_the_zscore(built: Built) -> None:
    rows = built.warehouse.query(
        "select product_id, price_zscore, zscore_threshold from marts.premium_products"
    )
    expected = _premium(built.dataset, 2.0)
    assert expected and {r[0] for r in rows} == expected
    assert all(z > 2.0 and threshold == 2.0 for _, z, threshold in rows)


def test_premium_zscore_comes_from_the_marts_section(built: Built, tmp_path: Path) -> None:
    config = built.project.root / "martlake.toml"
    original = config.read_text()
    try:
        config.write_text(original + "\n[marts]\npremium_zscore = 1.0\n")
        variables = dbt_vars(project(built.project.root))
    finally:
        config.write_text(original)
    assert variables["premium_zscore"] == 1.0
    assert dbt_vars(built.project)["premium_zscore"] == 2.0

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built.project.warehouse_path, copy)
    result = run_dbt(
        "run", database=copy, state_dir=tmp_path / "dbt", select=["premium_products"],
        vars=variables,
    )  # fmt: skip
    assert result.success
    rows = DuckDBWarehouse(copy).query("select product_id from marts.premium_products")
    expected = _premium(built.dataset, 1.0)
    assert {r[0] for r in rows} == expected
    assert len(expected) > len(_premium(built.dataset, 2.0))


def test_sales_by_geography_equals_truth_per_month_and_region(built: Built) -> None:
    rows = built.warehouse.query(
        "select month, country_code, province_code, orders, customers, gross_sales, discounts,"
        " returns, net_sales, aov, currency_code from marts.sales_by_geography"
    )
    expected = truth.region_months(built.dataset)
    assert {(m, c, p): tuple(rest[:6]) for m, c, p, *rest in rows} == {
        k: cell.row() for k, cell in expected.items()
    }
    for month, country, province, orders, *_, aov, currency in rows:
        cell = expected[(month, country, province)]
        assert currency == "USD"
        if orders:
            assert aov == pytest.approx((cell.gross - cell.discounts) / 100 / orders)
        else:
            assert aov is None
    assert {r[1] for r in rows} == {"US", "CA", "GB"}


def test_customer_ltv_equals_truth_for_every_customer(built: Built) -> None:
    horizons = ", ".join(f"ltv_{n}d" for n in truth.HORIZONS)
    rows = built.warehouse.query(
        "select first_order_id, first_order_date, cohort_month, orders, net_sales,"
        f" {horizons} from marts.customer_ltv"
    )
    expected = truth.customers(built.dataset)
    as_of = truth.as_of_date(built.dataset)
    assert {r[0] for r in rows} == set(expected)
    for first_id, first_date, cohort, orders, net, *ltv in rows:
        customer = expected[first_id]
        assert (first_date, cohort) == (customer.first_order_date, first_date.replace(day=1))
        assert (orders, net) == (customer.orders, customer.net_sales)
        assert ltv == [customer.ltv(n, as_of) for n in truth.HORIZONS], first_id
    elapsed = [r for r in rows if r[5] is not None]
    assert elapsed and len(elapsed) < len(rows)
    assert all(r[9] is None for r in rows), "no customer can have 365 days in 105"


def test_ltv_cohorts_equal_truth_cell_by_cell(built: Built) -> None:
    rows = built.warehouse.query(
        "select cohort_month, months_since_first_order, cohort_size, active_customers, orders,"
        " net_sales, is_complete, period_month, cumulative_net_sales,"
        " cumulative_ltv_per_customer, retention_rate, currency_code from marts.ltv_cohorts"
    )
    expected = truth.cohorts(built.dataset)
    assert {(c, n): tuple(rest[:5]) for c, n, *rest in rows} == expected
    cumulative: dict[date, object] = {}
    for cohort, n, size, active, _, net, _, period, running, ltv, retention, cur in sorted(rows):
        total = cumulative.get(cohort, 0) + net
        cumulative[cohort] = total
        assert period == truth.add_months(cohort, n)
        assert running == total
        assert ltv == pytest.approx(float(total) / size)
        assert retention == pytest.approx(active / size)
        assert cur == "USD"
    assert {c for c, n, *_ in rows if n == 3} == {date(2025, 1, 1)}
    lifetime = sum(c.net_sales for c in truth.customers(built.dataset).values())
    assert sum(r[5] for r in rows) == lifetime


def test_a_broken_horizontal_sum_fails_its_dbt_test(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built.project.warehouse_path, copy)
    DuckDBWarehouse(copy).execute(
        "update marts.product_performance set net_sales = net_sales + 0.01"
        " where (month, product_id, variant_id) in"
        " (select month, product_id, variant_id from marts.product_performance limit 1)"
    )
    result = run_dbt(
        "test", database=copy, state_dir=tmp_path / "dbt", select=["product_performance"],
        vars=dbt_vars(built.project),
    )  # fmt: skip
    failed = {n.name for n in result.failed}
    assert "assert_product_performance_net_sales_per_month" in failed
    assert "assert_product_performance_units_per_month" not in failed
