{#-
  The rows of ad-platform extractions that are authoritative for their (account, day).

  Per (account, day), the authoritative extraction is the latest (by `_ingested_at`, then
  `_extract_run_id`) of: every extraction whose recorded window (`extract_windows`) covers the
  day, and every extraction that returned rows for it (the only evidence for extractions loaded
  before windows were recorded). Its rows for that day are kept, none if it returned none, so
  restated numbers win and entities, or whole days, that the platform stopped reporting drop
  out. Then one row per `key` and day (the latest within the extraction).
-#}
{% macro authoritative_rows(rows, windows, account, day, key) -%}
    select {{ rows }}.*
    from {{ rows }}
    inner join (
        select {{ account }}, {{ day }}, _extract_run_id
        from (
            select {{ account }}, {{ day }}, _extract_run_id, _ingested_at
            from {{ rows }}
            union all
            select covered.{{ account }}, covered.{{ day }}, w._extract_run_id, w._ingested_at
            from (select distinct {{ account }}, {{ day }} from {{ rows }}) as covered
            inner join {{ windows }} as w
                on w.account_id = covered.{{ account }}
                and covered.{{ day }} between w.date_start and w.date_end
        ) as candidates
        qualify row_number() over (
            partition by {{ account }}, {{ day }} order by _ingested_at desc, _extract_run_id desc
        ) = 1
    ) as authoritative
        on {{ rows }}.{{ account }} = authoritative.{{ account }}
        and {{ rows }}.{{ day }} = authoritative.{{ day }}
        and {{ rows }}._extract_run_id = authoritative._extract_run_id
    qualify row_number() over (
        partition by {{ rows }}.{{ account }}, {{ rows }}.{{ key }}, {{ rows }}.{{ day }}
        order by {{ rows }}._ingested_at desc
    ) = 1
{%- endmacro %}
