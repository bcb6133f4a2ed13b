select
    order_id,
    {{ money('sum(subtotal)') }} as returns,
    cast(sum(quantity) as bigint) as returned_units,
    min(refund_date) as first_refund_date,
    max(refund_date) as last_refund_date
from {{ ref('stg_shopify__refund_lines') }}
group by order_id
