-- One row per product variant and cost period: the unit cost (shop currency) its inventory
-- item had from `valid_from` until `valid_to` (NULL: still has). Every Shopify extraction
-- appends a snapshot of all costs to raw variant_costs; a period starts with the first
-- snapshot that shows another cost. Shopify keeps no history of costs, so the first cost
-- martlake read also stands for the time before it (its `valid_from` is NULL), including
-- snapshots taken while the cost was not set yet. A variant never given a cost has no row.
with snapshots as (
    select
        shop_domain,
        variant_id,
        product_id,
        sku,
        unit_cost,
        _ingested_at
    from ({{ source_or_empty('raw_shopify', 'variant_costs') }}) as raw_costs
    where variant_id is not null
    qualify row_number() over (
        partition by shop_domain, variant_id, _extract_run_id order by _ingested_at desc
    ) = 1
),

known as (
    select *
    from snapshots
    qualify bool_or(unit_cost is not null) over (
        partition by shop_domain, variant_id order by _ingested_at
        rows between unbounded preceding and current row
    )
),

changes as (
    select
        *,
        row_number() over (
            partition by shop_domain, variant_id order by _ingested_at
        ) = 1 as is_first,
        lag(unit_cost) over (
            partition by shop_domain, variant_id order by _ingested_at
        ) as previous_cost
    from known
),

periods as (
    select *
    from changes
    where is_first or unit_cost is distinct from previous_cost
)

select
    shop_domain,
    variant_id,
    product_id,
    sku,
    cast(row_number() over (
        partition by shop_domain, variant_id order by _ingested_at
    ) as integer) as cost_period,
    unit_cost,
    case when not is_first then _ingested_at end as valid_from,
    lead(_ingested_at) over (partition by shop_domain, variant_id order by _ingested_at)
        as valid_to
from periods
