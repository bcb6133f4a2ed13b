-- One row per Fairing survey response (a customer's answer to one question about one order),
-- from its latest extraction. `_version_loaded_at` is when its current content was first
-- loaded: Fairing's lookback re-reads unchanged responses every run, and only a response that
-- is new or changed since an order model's previous build makes it rebuild the order
-- (shopify_orders_changed_after in macros/incremental.sql).

with loads as (
    select
        *,
        hash(*columns(* exclude (_extract_run_id, _ingested_at))) as _content_hash
    from ({{ source_or_empty('raw_fairing', 'responses') }}) as raw_responses
    where id is not null
),

changes as (
    select
        *,
        _content_hash is distinct from lag(_content_hash) over (
            partition by id order by _ingested_at, _extract_run_id
        ) as _is_change
    from loads
),

latest as (
    select
        *,
        max(_ingested_at) filter (where _is_change) over (partition by id)
            as _version_loaded_at
    from changes
    qualify row_number() over (
        partition by id order by _ingested_at desc, _extract_run_id desc
    ) = 1
)

select
    id as response_record_id,
    try_cast(order_id as bigint) as order_id,
    order_platform,
    question_id,
    question,
    question_type,
    coalesce(clarification_question, false) as is_clarification,
    referring_question_id,
    response_id,
    nullif(trim(response), '') as answer,
    coalesce(other, false) as is_other,
    nullif(trim(other_response), '') as other_answer,
    customer_id,
    email_hash,
    inserted_at,
    updated_at,
    response_provided_at,
    _extract_run_id,
    _ingested_at,
    _version_loaded_at
from latest
