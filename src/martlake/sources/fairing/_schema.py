"""Raw tables written by the Fairing source."""

import pyarrow as pa

from martlake.sources.base import MONEY, TIMESTAMP

RESPONSES = pa.schema(
    [
        ("id", pa.string()),
        ("question_id", pa.int64()),
        ("question", pa.string()),
        ("question_type", pa.string()),
        ("clarification_question", pa.bool_()),
        ("referring_question_id", pa.int64()),
        ("referring_question_response", pa.string()),
        ("response_id", pa.int64()),
        ("response", pa.string()),
        ("other", pa.bool_()),
        ("other_response", pa.string()),
        ("order_id", pa.string()),
        ("order_number", pa.string()),
        ("order_platform", pa.string()),
        ("customer_id", pa.string()),
        ("email_hash", pa.string()),
        ("customer_order_count", pa.int64()),
        ("order_total", MONEY),
        ("order_currency_code", pa.string()),
        ("landing_page_path", pa.string()),
        ("referring_site", pa.string()),
        ("utm_source", pa.string()),
        ("utm_medium", pa.string()),
        ("utm_campaign", pa.string()),
        ("utm_content", pa.string()),
        ("utm_term", pa.string()),
        ("inserted_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("response_provided_at", TIMESTAMP),
    ]
)

SCHEMAS = {"responses": RESPONSES}
