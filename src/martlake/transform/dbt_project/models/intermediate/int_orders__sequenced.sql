-- Non-test orders numbered per customer (by created_at, then id). An order without customer id
-- or email hash cannot be matched to earlier ones and counts as a first order.
with orders as (
    select
        *,
        {{ customer_key('customer_id', 'email_hash') }} as customer_key
    from {{ ref('stg_shopify__orders') }}
    where not is_test
)

select
    order_id,
    customer_key,
    case
        when customer_key is null then 1
        else row_number() over (partition by customer_key order by created_at, order_id)
    end as customer_order_number
from orders
