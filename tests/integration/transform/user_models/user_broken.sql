select no_such_column from {{ ref('shopify_unified') }}
