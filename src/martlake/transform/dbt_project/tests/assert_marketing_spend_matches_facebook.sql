-- Every cent of Meta spend reaches marketing_unified.
select marketing.spend, facebook.spend
from (select coalesce(sum(spend), 0) as spend from {{ ref('marketing_unified') }}) as marketing
cross join (select coalesce(sum(spend), 0) as spend from {{ ref('facebook_unified') }}) as facebook
where marketing.spend <> facebook.spend
