select date, sum(spend) as spend
from {{ ref('marketing_unified') }}
group by date
