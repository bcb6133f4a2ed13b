"""Reports of a project without TikTok: its sections say "not connected" instead of zeros."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from martlake.config import Project
from martlake.pipeline import RunResult, run_pipeline
from martlake.reports.coverage import SourceCoverage, missing_sections, model_sources
from tests.sandbox_project import make_sandbox_project, project

pytestmark = pytest.mark.xdist_group("pipeline")


@pytest.fixture(scope="module")
def without_tiktok(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, RunResult]]:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("no_tiktok"),
        start=date(2025, 3, 1),
        end=date(2025, 3, 14),
        orders_per_day=10,
    )
    for config in (root / "martlake.toml", root / ".martlake" / "secrets.toml"):
        text = re.sub(r"\[sources\.tiktok_ads\]\n(?:[^\[\n][^\n]*\n?)*\n?", "", config.read_text())
        assert "tiktok_ads]" not in text
        config.write_text(text)
    proj = project(root)
    yield proj, run_pipeline(proj)


def test_sources_sheet_lists_every_source_and_what_it_feeds(
    without_tiktok: tuple[Project, RunResult],
) -> None:
    _, result = without_tiktok
    assert result.exit_code == 0, result.steps
    assert result.output_dir is not None
    book = openpyxl.load_workbook(result.output_dir / "report.xlsx", read_only=True)
    assert book.sheetnames[0] == "data_sources"
    rows = {r[0]: r for r in book["data_sources"].iter_rows(min_row=2, values_only=True)}
    assert rows["tiktok_ads"][2] == "not configured"
    assert "[sources.tiktok_ads]" in rows["tiktok_ads"][5]
    assert rows["shopify"][2] == "connected" and rows["shopify"][3] is not None
    assert "shopify_daily_metrics" in rows["shopify"][4]
    assert rows["amazon_ads"][2] == "not available yet"
    assert rows["fairing"][2] == "not configured" and "[sources.fairing]" in rows["fairing"][5]
    csv = (result.output_dir / "csv" / "data_sources.csv").read_text()
    assert '"tiktok_ads","TikTok Ads","not configured"' in csv


def test_a_model_of_a_missing_source_is_a_not_connected_section(
    without_tiktok: tuple[Project, RunResult],
) -> None:
    _, result = without_tiktok
    assert result.output_dir is not None
    book = openpyxl.load_workbook(result.output_dir / "report.xlsx")
    sheet = book["tiktok_unified"]
    assert sheet["A1"].value == "Not connected"
    assert "TikTok Ads is not connected" in sheet["A2"].value
    assert "[sources.tiktok_ads]" in sheet["A2"].value
    assert sheet["A4"].value == "date"  # the columns the model would have
    # Models fed by a connected source keep their rows, without a notice.
    meta = book["facebook_unified"]
    assert meta["A1"].value == "date" and meta.max_row > 10


def test_lineage_follows_models_to_their_raw_sources(
    without_tiktok: tuple[Project, RunResult],
) -> None:
    proj, _ = without_tiktok
    lineage = model_sources(proj.state_dir / "dbt" / "target" / "manifest.json")
    assert lineage["tiktok_unified"] == {"tiktok_ads"}
    # A survey answer re-attributes its order, so the order models are fed by Fairing too.
    assert lineage["int_orders__sequenced"] == {"shopify", "fairing"}
    # Orders are attributed to campaigns matched in the ad data, so shopify_unified and the
    # models built on it are fed by the ad sources too.
    assert lineage["shopify_daily_metrics"] == {
        "shopify", "meta_ads", "google_ads", "tiktok_ads", "fairing",
    }  # fmt: skip
    assert lineage["marketing_unified"] >= {"shopify", "meta_ads", "google_ads", "tiktok_ads"}
    assert model_sources(proj.root / "no-such-manifest.json") == {}


def test_a_model_with_rows_or_one_connected_source_gets_no_notice() -> None:
    def cov(name: str, state: str) -> SourceCoverage:
        return SourceCoverage(name, name.title(), state, None, (), f"{name} missing")

    empty = pa.table({"date": pa.array([], pa.date32())})
    full = pa.table({"date": pa.array([date(2025, 1, 1)], pa.date32())})
    coverage = [cov("a", "not configured"), cov("b", "connected"), cov("c", "never loaded")]
    lineage = {"m1": {"a"}, "m2": {"a", "b"}, "m3": {"a"}, "m4": {"a", "c"}, "m5": set()}
    tables = {"m1": empty, "m2": empty, "m3": full, "m4": empty, "m5": empty}
    assert missing_sections(tables, lineage, coverage) == {
        "m1": "a missing",
        "m4": "a missing c missing",
    }


def test_unknown_manifest_gives_no_lineage(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    assert model_sources(tmp_path / "manifest.json") == {}
