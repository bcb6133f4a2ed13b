"""`[attribution]`: channel spellings, discount-code rules and survey settings, validated and
passed to dbt."""

from __future__ import annotations

import inspect
import re
import shutil
from pathlib import Path

import pytest

from martlake.config import AttributionSettings, load_project
from martlake.errors import ConfigError
from martlake.pipeline._steps import dbt_vars
from martlake.transform import PROJECT_DIR
from tests.conftest import FIXTURES


def load(tmp_path: Path, attribution: str) -> object:
    shutil.copy(FIXTURES / "config" / "minimal.toml", tmp_path / "martlake.toml")
    with (tmp_path / "martlake.toml").open("a") as fh:
        fh.write("\n" + attribution)
    return load_project(tmp_path, environ={})


def test_rules_reach_the_dbt_vars_normalised_and_in_order(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        '[attribution]\nchannels = { " Pinterest " = "pinterest", fb = "meta" }\n'
        '[[attribution.discount_codes]]\npattern = " ANNA% "\nchannel = "affiliate"\n'
        '[[attribution.discount_codes]]\npattern = "TT-%"\nchannel = "tiktok"\n'
        'campaign_id = "1800000000000000001"\n',
    )
    variables = dbt_vars(project)  # type: ignore[arg-type]
    assert variables["attribution_channels"] == {"pinterest": "pinterest", "fb": "meta"}
    assert variables["attribution_discount_codes"] == [
        {"pattern": "ANNA%", "channel": "affiliate"},
        {"pattern": "TT-%", "channel": "tiktok", "campaign_id": "1800000000000000001"},
    ]


def test_survey_settings_reach_the_dbt_vars_normalised(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        "[attribution]\nsurvey_questions = [1001, 1004]\n"
        '[attribution.survey_answers]\n" Saw it in a SHOP " = "retail"\nPodcast = "audio"\n',
    )
    variables = dbt_vars(project)  # type: ignore[arg-type]
    assert variables["attribution_survey_answers"] == {
        "saw it in a shop": "retail",
        "podcast": "audio",
    }
    assert variables["attribution_survey_questions"] == [1001, 1004]


def test_without_a_section_the_dbt_vars_keep_the_defaults(tmp_path: Path) -> None:
    variables = dbt_vars(load(tmp_path, ""))  # type: ignore[arg-type]
    assert variables["attribution_channels"] == {}
    assert variables["attribution_discount_codes"] == []
    assert variables["attribution_survey_answers"] == {}
    assert variables["attribution_survey_questions"] == []


@pytest.mark.parametrize(
    ("attribution", "culprit"),
    [
        pytest.param(
            '[attribution]\nchannels = { pin = "Pinterest Ads" }\n',
            "channel `Pinterest Ads` (utm_source `pin`) must be lower-case",
            id="channel-name",
        ),
        pytest.param(
            '[attribution]\nchannels = { FB = "meta", fb = "facebook" }\n',
            "utm_source `fb` is mapped to both `meta` and `facebook`",
            id="same-spelling-twice",
        ),
        pytest.param(
            '[attribution.survey_answers]\nPodcast = "Podcasts!"\n',
            "channel `Podcasts!` (survey answer `Podcast`) must be lower-case",
            id="survey-channel-name",
        ),
        pytest.param(
            '[attribution.survey_answers]\nTV = "tv"\ntv = "television"\n',
            "survey answer `tv` is mapped to both `tv` and `television`",
            id="same-answer-twice",
        ),
        pytest.param(
            '[attribution]\nsurvey_questions = ["how did you hear"]\n',
            "attribution.survey_questions.0",
            id="question-not-an-id",
        ),
        pytest.param(
            '[[attribution.discount_codes]]\npattern = "KLAV%"\nchannel = "email"\n'
            'campaign_id = "123"\n',
            "`campaign_id` `123` of pattern `KLAV%` needs channel `meta`, `google` or `tiktok`",
            id="campaign-without-platform",
        ),
        pytest.param(
            '[[attribution.discount_codes]]\npattern = "  "\nchannel = "email"\n',
            "a discount code pattern must not be blank",
            id="blank-pattern",
        ),
        pytest.param(
            '[[attribution.discount_codes]]\npattern = "X%"\n',
            "`attribution.discount_codes.0.channel` is missing",
            id="missing-channel",
        ),
        pytest.param(
            '[[attribution.discount_codes]]\npattern = "X%"\nchannel = "email"\ncode = "X"\n',
            "unknown key `attribution.discount_codes.0.code`",
            id="unknown-key",
        ),
    ],
)
def test_bad_rules_fail_in_one_line_naming_the_culprit(
    tmp_path: Path, attribution: str, culprit: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, attribution)
    message = str(err.value)
    assert culprit in message
    assert "attribution" in message and "martlake.toml" in message
    assert "\n" not in message


def test_readme_and_config_docs_list_every_built_in_spelling() -> None:
    macro = (PROJECT_DIR / "macros" / "attribution.sql").read_text()
    defaults = re.findall(r"'(\w+)': '(meta|google|tiktok|email)'", macro)
    assert len(defaults) >= 12
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `channels` |"))
    doc = inspect.getsource(AttributionSettings)
    for spelling, _ in defaults:
        assert f"`{spelling}`" in row, spelling
        assert f"`{spelling}`" in doc, spelling


def test_readme_and_config_docs_list_every_survey_default() -> None:
    macro = (PROJECT_DIR / "macros" / "attribution.sql").read_text()
    block = macro[macro.index("macro attribution_survey_answer_map") :]
    defaults = re.findall(r"'([a-z ]+)': '(podcast|word_of_mouth|referral)'", block)
    assert len(defaults) >= 6
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `survey_answers` |"))
    doc = inspect.getsource(AttributionSettings)
    for answer, channel in defaults:
        assert f"`{answer}`" in row and f"`{channel}`" in row, answer
        assert f"`{answer}`" in doc, answer
