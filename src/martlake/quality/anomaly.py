"""The anomaly engine: a robust baseline per day and a verdict against KPI thresholds.

Pure Python on a `date → value` series; `metric_drops` (quality/drops.py) feeds it the KPIs of
`[quality.kpis]` from the marts.

Baseline: the median of the same weekday over the last `weeks` (6) usable weeks, or, with fewer
than 3 such days, the mean of the last 30 usable days with the top and bottom 10 % trimmed. Usable
means before the evaluated day, inside the look-back (13 weeks) and not annotated (promo, outage):
annotated days never shape a baseline and are never alerted on.

Verdict (direction `drop`; `rise` mirrors it): `ratio = value / baseline`. A day is flagged at a
threshold `t` (critical, then warn) when the ratio is at or below `t + ½ × noise × √t` (the value
is consistent with the level having fallen to `t`, given the series' day-to-day noise) and the
fall is also significant: `1 − ratio ≥ 2 × noise`. `noise` is the series' relative day-to-day
spread: 1.4826 × the median absolute deviation of each past day's ratio to the median of the same
weekday's other days (at least `1/√baseline` for counts, the Poisson floor); a count must also be
unlikely under Poisson noise (P ≤ 0.2 %). A zero on a day whose baseline is clearly positive (for
counts at least 5, and zeros rare in the history) is always CRITICAL.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from martlake.quality._results import Severity

Direction = Literal["drop", "rise"]
Method = Literal["weekday", "trimmed_mean"]

DEFAULT_WEEKS = 6
DEFAULT_LOOKBACK_DAYS = 91
DEFAULT_MIN_HISTORY_DAYS = 14
DEFAULT_FALLBACK_DAYS = 30
MIN_WEEKDAY_POINTS = 3
SIGNIFICANCE_Z = 2.0
TOLERANCE_K = 0.5
NOISE_FLOOR = 0.02
MIN_COUNT_BASELINE_FOR_ZERO = 5.0
MAX_ZERO_SHARE = 0.1
POISSON_ALPHA = 0.002


@dataclass(frozen=True)
class Thresholds:
    """Ratio levels against the baseline: below `warn` is WARN, below `critical` CRITICAL.

    For `direction="rise"` the levels are above 1 and a day is flagged above them.
    """

    warn: float = 0.5
    critical: float = 0.25
    direction: Direction = "drop"


@dataclass(frozen=True)
class Verdict:
    """What the engine says about one day."""

    day: date
    value: float | None
    baseline: float | None
    ratio: float | None
    severity: Severity
    reason: str
    method: Method | None = None
    noise: float | None = None


def is_annotated(day: date, annotations: Sequence[tuple[date, date]]) -> bool:
    """Whether `day` falls in one of the inclusive `(start, end)` ranges."""
    return any(start <= day <= end for start, end in annotations)


def evaluate(
    series: Mapping[date, float | None],
    days: Sequence[date],
    thresholds: Thresholds = Thresholds(),
    *,
    annotations: Sequence[tuple[date, date]] = (),
    count: bool = False,
    weeks: int = DEFAULT_WEEKS,
    min_history_days: int = DEFAULT_MIN_HISTORY_DAYS,
) -> list[Verdict]:
    """Judge each of `days` against its own baseline.

    Args:
        series: Daily values; a missing day is unknown, not zero.
        days: The days to judge.
        thresholds: Warn and critical ratio levels and their direction.
        annotations: Inclusive date ranges left out of baselines and never alerted on.
        count: The values are counts (orders), so Poisson noise is the least noise assumed.
        weeks: How many same weekdays the baseline's median takes.
        min_history_days: Fewer usable days before a day than this gives SKIPPED.

    Returns:
        One verdict per day, in the order given. Days are judged oldest first, and a day
        flagged WARN or CRITICAL is left out of the baselines of the later ones, so a
        lasting outage keeps being reported instead of becoming its own baseline.

    >>> from datetime import date, timedelta
    >>> start = date(2025, 1, 1)
    >>> series = {start + timedelta(d): 100.0 + d % 3 for d in range(60)}
    >>> last = start + timedelta(59)
    >>> [v.severity.value for v in evaluate({**series, last: 40.0}, [last])]
    ['WARN']
    >>> evaluate({**series, last: 0.0}, [last], count=True)[0].severity.value
    'CRITICAL'
    >>> evaluate(series, [last])[0].severity.value
    'OK'
    """
    verdicts: list[Verdict] = []
    flagged: list[tuple[date, date]] = []
    for day in sorted(days):
        found = _verdict(
            series, day, thresholds, [*annotations, *flagged], count, weeks, min_history_days
        )
        if found.severity in (Severity.WARN, Severity.CRITICAL):
            flagged.append((day, day))
        verdicts.append(found)
    order = {v.day: v for v in verdicts}
    return [order[day] for day in days]


def baseline(
    series: Mapping[date, float | None],
    day: date,
    *,
    annotations: Sequence[tuple[date, date]] = (),
    weeks: int = DEFAULT_WEEKS,
) -> tuple[float, Method] | None:
    """The robust baseline of `day`, and how it was formed; None without usable history."""
    history = _history(series, day, annotations)
    if not history:
        return None
    return _baseline_from(history, day, weeks)


def _history(
    series: Mapping[date, float | None], day: date, annotations: Sequence[tuple[date, date]]
) -> dict[date, float]:
    """Usable past days, newest first (the helpers below rely on that order)."""
    first = day - timedelta(days=DEFAULT_LOOKBACK_DAYS)
    return {
        d: float(v)
        for d, v in sorted(series.items(), reverse=True)
        if first <= d < day and v is not None and not (annotations and is_annotated(d, annotations))
    }


def _baseline_from(history: Mapping[date, float], day: date, weeks: int) -> tuple[float, Method]:
    same = _same_weekday(history, day, weeks)
    if len(same) >= MIN_WEEKDAY_POINTS:
        return statistics.median(same), "weekday"
    recent = list(history.values())[:DEFAULT_FALLBACK_DAYS]
    return _trimmed_mean(recent), "trimmed_mean"


def _same_weekday(history: Mapping[date, float], day: date, weeks: int) -> list[float]:
    weekday = day.weekday()
    return [v for d, v in history.items() if d.weekday() == weekday][:weeks]


def _sorted_median(ordered: Sequence[float]) -> float:
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _trimmed_mean(values: Sequence[float], share: float = 0.1) -> float:
    ordered = sorted(values)
    cut = int(len(ordered) * share)
    kept = ordered[cut : len(ordered) - cut] if cut else ordered
    return statistics.fmean(kept)


def _noise(history: Mapping[date, float], weeks: int, method: Method) -> float | None:
    """Relative day-to-day spread: robust sd of each day's ratio to its peers' centre."""
    ratios: list[float] = []
    if method == "weekday":
        groups: dict[int, list[float]] = {}
        for d, v in history.items():
            groups.setdefault(d.weekday(), []).append(v)
        for group in groups.values():
            values = group[:weeks]
            if len(values) < MIN_WEEKDAY_POINTS:
                continue
            ordered = sorted(values)
            for i, value in enumerate(ordered):
                centre = _sorted_median(ordered[:i] + ordered[i + 1 :])
                if centre > 0:
                    ratios.append(value / centre)
    else:
        values = list(history.values())[:DEFAULT_FALLBACK_DAYS]
        for i, value in enumerate(values):
            centre = _trimmed_mean(values[:i] + values[i + 1 :])
            if centre > 0:
                ratios.append(value / centre)
    if len(ratios) < 5:
        return None
    middle = statistics.median(ratios)
    return 1.4826 * statistics.median(abs(r - middle) for r in ratios)


def _verdict(
    series: Mapping[date, float | None],
    day: date,
    thresholds: Thresholds,
    annotations: Sequence[tuple[date, date]],
    count: bool,
    weeks: int,
    min_history_days: int,
) -> Verdict:
    value = series.get(day)
    if is_annotated(day, annotations):
        return Verdict(day, value, None, None, Severity.INFO, "annotated: not alerted")
    if value is None:
        return Verdict(day, None, None, None, Severity.SKIPPED, "no value for the day")
    history = _history(series, day, annotations)
    if len(history) < min_history_days:
        return Verdict(
            day,
            value,
            None,
            None,
            Severity.SKIPPED,
            f"{len(history)} days of history, at least {min_history_days} needed",
        )
    base, method = _baseline_from(history, day, weeks)
    if base <= 0:
        return Verdict(day, value, base, None, Severity.OK, "no positive baseline", method)
    ratio = value / base
    noise = max(_noise(history, weeks, method) or 0.0, NOISE_FLOOR)
    if count:
        noise = max(noise, 1 / math.sqrt(base))
    severity, reason = _severity(ratio, noise, thresholds)
    if count and severity is not Severity.OK and not _poisson_unlikely(value, base, thresholds):
        severity, reason = Severity.OK, "within Poisson variation of a small count"
    if thresholds.direction == "drop" and value == 0 and _zero_is_abnormal(history, base, count):
        severity, reason = Severity.CRITICAL, "zero on a day that normally has activity"
    return Verdict(day, value, base, ratio, severity, reason, method, noise)


def _severity(ratio: float, noise: float, thresholds: Thresholds) -> tuple[Severity, str]:
    drop = thresholds.direction == "drop"
    shortfall = (1 - ratio) if drop else (ratio - 1)
    if shortfall < SIGNIFICANCE_Z * noise:
        return Severity.OK, "within normal variation"
    for severity, level in (
        (Severity.CRITICAL, thresholds.critical),
        (Severity.WARN, thresholds.warn),
    ):
        if drop:
            tolerance = min(TOLERANCE_K * noise * math.sqrt(level), (1 - level) / 2)
            if ratio <= level + tolerance:
                return severity, f"below {level:g}× the baseline"
        else:
            tolerance = min(TOLERANCE_K * noise * math.sqrt(level), (level - 1) / 2)
            if ratio >= level - tolerance:
                return severity, f"above {level:g}× the baseline"
    return Severity.OK, "within thresholds"


def _poisson_unlikely(value: float, base: float, thresholds: Thresholds) -> bool:
    """Whether a count this far from the baseline has at most POISSON_ALPHA probability."""
    k = math.floor(value) if thresholds.direction == "drop" else math.ceil(value)
    if base > 1000:
        z = (k - base) / math.sqrt(base)
        tail = 0.5 * math.erfc(abs(z) / math.sqrt(2))
        return tail <= POISSON_ALPHA and (z < 0) == (thresholds.direction == "drop")
    if k > base + 12 * math.sqrt(base) + 30:
        return thresholds.direction == "rise"
    below = sum(_poisson_pmf(i, base) for i in range(max(k, -1) + 1))
    tail = below if thresholds.direction == "drop" else 1 - below + _poisson_pmf(k, base)
    return tail <= POISSON_ALPHA


def _poisson_pmf(k: int, lam: float) -> float:
    return math.exp(k * math.log(lam) - lam - math.lgamma(k + 1))


def _zero_is_abnormal(history: Mapping[date, float], base: float, count: bool) -> bool:
    if count and base < MIN_COUNT_BASELINE_FOR_ZERO:
        return False
    zeros = sum(1 for v in history.values() if v == 0)
    return zeros <= MAX_ZERO_SHARE * len(history)
