from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from martlake.config import load_project
from martlake.errors import ConfigError
from martlake.privacy import Hasher, PiiPolicy
from martlake.sources import Batch

SHA = Hasher()


def policy_from(tmp_path: Path, toml: str) -> PiiPolicy:
    (tmp_path / "martlake.toml").write_text(toml)
    return PiiPolicy.from_settings(load_project(tmp_path, environ={}).settings.privacy)


def test_default_email_and_phone_columns_become_hash_columns_in_place() -> None:
    data = pa.table(
        {
            "id": [1, 2],
            "Email": [" Jane@Example.com", None],
            "phone": [5552345678, None],
            "total": [1.5, 2.5],
        }
    )
    out = PiiPolicy(SHA).apply("files", "orders", data)
    assert out.column_names == ["id", "Email_hash", "phone_hash", "total"]
    assert out.column("Email_hash").to_pylist() == [SHA.email("jane@example.com"), None]
    assert out.column("phone_hash").to_pylist() == [SHA.phone("+15552345678"), None]
    assert out.column("total").to_pylist() == [1.5, 2.5]


def test_configured_columns_per_source_and_table_with_every_kind(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        """
[privacy.columns.shop_sql]
buyer = "email"
"customers.mobile_no" = "phone"
loyalty_card = "hash"
note = "drop"
phone = "keep"

[privacy.columns."*"]
contact = "email"
""",
    )
    data = pa.table(
        {
            "buyer": ["A@x.com"],
            "mobile_no": ["(555) 234-5678"],
            "loyalty_card": [" LC-42 "],
            "note": ["call me"],
            "phone": ["front desk"],
            "contact": ["B@x.com"],
        }
    )
    customers = policy.apply("shop_sql", "customers", data)
    assert customers.to_pylist() == [
        {
            "buyer_hash": SHA.email("a@x.com"),
            "mobile_no_hash": SHA.phone("+15552345678"),
            "loyalty_card_hash": SHA.value("LC-42"),
            "phone": "front desk",
            "contact_hash": SHA.email("b@x.com"),
        }
    ]
    orders = policy.apply("shop_sql", "orders", data)
    assert "mobile_no" in orders.column_names  # the rule names customers.mobile_no only
    other = policy.apply("files", "orders", data)
    assert other.column_names == [
        "buyer",
        "mobile_no",
        "loyalty_card",
        "note",
        "phone_hash",
        "contact_hash",
    ]


def test_already_hashed_columns_are_not_hashed_twice() -> None:
    hashed = SHA.email("jane@example.com")
    policy = PiiPolicy(SHA, {"shopify": {"email_hash": "email"}})
    shopify = pa.table({"id": [1], "email_hash": [hashed]})
    assert policy.apply("shopify", "orders", shopify).equals(shopify)
    both = pa.table({"email": ["jane@example.com", "x@y.com"], "email_hash": [None, hashed]})
    out = PiiPolicy(SHA).apply("files", "leads", both)
    assert out.to_pydict() == {"email_hash": [hashed, hashed]}


def test_protect_wraps_a_source_stream_and_leaves_other_tables_untouched() -> None:
    clean = pa.table({"spend": [1.0]})
    batches = [
        Batch("insights", clean),
        Batch("leads", pa.table({"email": ["a@x.com"]})),
    ]
    out = list(PiiPolicy(SHA).protect("meta_ads", iter(batches)))
    assert out[0] == Batch("insights", clean) and out[0].data is clean
    assert out[1].table == "leads"
    assert out[1].data.to_pydict() == {"email_hash": [SHA.email("a@x.com")]}


def test_hmac_policy_hashes_with_the_secret(tmp_path: Path) -> None:
    (tmp_path / ".martlake").mkdir()
    (tmp_path / ".martlake" / "secrets.toml").write_text('[privacy]\nsecret = "pepper-123"\n')
    policy = policy_from(tmp_path, '[privacy]\nmode = "hmac"\n')
    out = policy.apply("files", "leads", pa.table({"email": ["A@x.com"]}))
    assert out.column("email_hash").to_pylist() == [Hasher("hmac", "pepper-123").email("a@x.com")]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[privacy.columns.files]\nemail = "md5"\n', "privacy.columns.files.email"),
        ('[privacy.columns.files]\n"a..b" = "email"\n', "a..b"),
    ],
    ids=["unknown-kind", "bad-column-name"],
)
def test_bad_column_rules_name_the_culprit(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "martlake.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_project(tmp_path, environ={})


def test_pii_fields_inside_struct_and_list_columns_are_hashed_or_dropped(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        '[privacy.columns."*"]\n"orders.customer.note" = "drop"\n"shipping.contact" = "phone"\n',
    )
    customer = pa.struct([("email", pa.string()), ("name", pa.string()), ("note", pa.string())])
    data = pa.table(
        {
            "id": [1, 2, 3],
            "customer": pa.array(
                [
                    {"email": "Jane@Example.com", "name": "Jane", "note": "call 555-234-5678"},
                    None,
                    {"email": None, "name": "Bo", "note": None},
                ],
                customer,
            ),
            "lines": [[{"sku": "A", "buyer": {"Email": "b@x.com"}}], [], None],
            "shipping": [{"contact": "555-234-5678"}, {"contact": None}, None],
        }
    ).slice(0)
    out = policy.apply("files", "orders", data)
    assert out.column_names == ["id", "customer", "lines", "shipping"]
    assert out.to_pylist() == [
        {
            "id": 1,
            "customer": {"email_hash": SHA.email("jane@example.com"), "name": "Jane"},
            "lines": [{"sku": "A", "buyer": {"Email_hash": SHA.email("b@x.com")}}],
            "shipping": {"contact_hash": SHA.phone("+15552345678")},
        },
        {"id": 2, "customer": None, "lines": [], "shipping": {"contact_hash": None}},
        {
            "id": 3,
            "customer": {"email_hash": None, "name": "Bo"},
            "lines": None,
            "shipping": None,
        },
    ]
    assert policy.apply("files", "orders", data.slice(1)).to_pylist() == out.to_pylist()[1:]


def test_a_rule_for_a_whole_struct_column_applies_to_the_column() -> None:
    data = pa.table({"id": [1], "contact": [{"email": "a@x.com"}], "meta": [{"email": "b@x.com"}]})
    out = PiiPolicy(SHA, {"*": {"meta": "drop", "t.contact": "keep"}}).apply("files", "t", data)
    assert out.to_pylist() == [{"id": 1, "contact": {"email": "a@x.com"}}]
