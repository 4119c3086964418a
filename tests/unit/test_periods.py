from datetime import UTC, date, datetime

import pytest

from schemas.periods import percent_change, period_bounds


@pytest.mark.parametrize(
    ("name", "start", "previous_start"),
    [
        ("7-days", date(2026, 3, 4), date(2026, 2, 25)),
        ("30-days", date(2026, 2, 9), date(2026, 1, 10)),
        ("90-days", date(2025, 12, 11), date(2025, 9, 12)),
        ("1-year", date(2025, 3, 11), date(2024, 3, 11)),
    ],
)
def test_period_is_the_last_n_utc_days_including_today(name: str, start: date, previous_start: date) -> None:
    bounds = period_bounds(name, datetime(2026, 3, 10, 23, 59, tzinfo=UTC))
    assert (bounds.start, bounds.today, bounds.previous_start) == (
        start,
        date(2026, 3, 10),
        previous_start,
    )


def test_unknown_period_is_refused() -> None:
    with pytest.raises(KeyError):
        period_bounds("2-weeks", datetime(2026, 3, 10, tzinfo=UTC))


@pytest.mark.parametrize(
    ("current", "previous", "change"),
    [
        (150, 100, 50.0),
        (50, 100, -50.0),
        (100, 100, 0.0),
        (1, 3, -66.7),
        (2, 3, -33.3),
        (1001, 1000, 0.1),
        (10005, 10000, 0.1),  # 0.05 rounds away from zero
        (9995, 10000, -0.1),
        (5, 0, None),
        (0, 0, None),
        (0, 7, -100.0),
    ],
)
def test_growth_is_rounded_to_one_decimal(current: int, previous: int, change: float | None) -> None:
    assert percent_change(current, previous) == change
