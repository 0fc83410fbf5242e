"""Occurrences over time by level, shaped for the dashboard's charts.

The figures come from the hourly counts that ingest keeps, so a chart costs
one small indexed read however many errors the journal holds. Hours and days
are UTC, like every time on the staff pages.
"""

import datetime as dt

from . import selectors
from .models import SEVERITY, Level

DAY_HOURS = 24
WEEK_DAYS = 7

# Most severe first, so that the legend reads in order of urgency.
LEVELS_BY_URGENCY = sorted(Level, key=lambda level: -SEVERITY[level])


def occurrence_charts(*, now):
    """Return the last 24 hours by hour and the last 7 days by day."""
    this_hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    hours = [this_hour - dt.timedelta(hours=n) for n in range(DAY_HOURS - 1, -1, -1)]
    today = this_hour.replace(hour=0)
    days = [today - dt.timedelta(days=n) for n in range(WEEK_DAYS - 1, -1, -1)]

    by_hour, by_day = {}, {}
    for hour, level, occurrences in selectors.hourly_counts(
        since=min(days[0], hours[0])
    ):
        hour = hour.astimezone(dt.UTC)
        by_hour[hour, level] = by_hour.get((hour, level), 0) + occurrences
        day = hour.replace(hour=0)
        by_day[day, level] = by_day.get((day, level), 0) + occurrences

    return {
        "day": _chart([f"{hour:%H}:00" for hour in hours], hours, by_hour),
        "week": _chart([f"{day:%a %d %b}" for day in days], days, by_day),
    }


def _chart(labels, buckets, counts):
    datasets = [
        {
            "level": level.value,
            "label": level.label,
            "data": [counts.get((bucket, level.value), 0) for bucket in buckets],
        }
        for level in LEVELS_BY_URGENCY
    ]
    total = sum(sum(dataset["data"]) for dataset in datasets)
    return {"labels": labels, "datasets": datasets, "total": total}
