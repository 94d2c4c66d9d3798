"""Open now / closes at / next opening under China's holidays and make-up workdays (pure, no DB).

Expected values are from the official 2026 schedule (国务院办公厅 notice, as in chinese_calendar
1.11.0): National Day 1-7 Oct off, Saturday 10 Oct a make-up workday; Spring Festival 15-23 Feb
off, Saturdays 14 and 28 Feb make-up workdays.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.hours import (
    HORIZON_DAYS,
    ChinaCalendar,
    OpenState,
    is_open,
    open_mask,
    open_state,
    open_state_memo,
)
from geo.standards import BEIJING

CAL = ChinaCalendar()
UNION = "Mo-Fr 09:00-20:00; Sa 09:00-20:00"  # Yangpu: until 20:00 on workdays and Saturdays
OFFICE = "Mo-Fr 09:00-17:00; PH off"


def bj(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def state(hours: str, at: datetime, calendar: ChinaCalendar = CAL) -> OpenState:
    return open_state(hours, at, calendar)


def test_workday_evening_around_closing_time():
    # Friday 2026-11-20 is an ordinary workday
    closed = state(UNION, bj(2026, 11, 20, 20, 30))
    assert (closed.is_open, closed.day_type) == (False, "workday")
    assert closed.next_open == bj(2026, 11, 21, 9)  # Saturday hours
    open_ = state(UNION, bj(2026, 11, 20, 19, 59))
    assert open_.is_open
    assert open_.closes_at == bj(2026, 11, 20, 20)
    assert open_.next_open is None
    assert open_.calendar_known


def test_saturday_open_sunday_closed_until_monday():
    saturday = state(UNION, bj(2026, 11, 21, 10))
    assert (saturday.is_open, saturday.closes_at, saturday.day_type) == (
        True,
        bj(2026, 11, 21, 20),
        "weekend",
    )
    sunday = state(UNION, bj(2026, 11, 22, 10))
    assert (sunday.is_open, sunday.next_open, sunday.day_type) == (
        False,
        bj(2026, 11, 23, 9),
        "weekend",
    )


def test_24_7_at_night_and_union_hours_at_night():
    always = state("24/7", bj(2026, 11, 18, 3))
    assert always.is_open
    assert always.closes_at is None
    assert always.next_open is None
    for hours in (UNION, OFFICE, "Mo-Fr 08:30-17:30", "Mo-Sa 09:00-21:00"):
        night = state(hours, bj(2026, 11, 18, 3))
        assert not night.is_open
        assert night.next_open is not None
        assert night.next_open.date() == date(2026, 11, 18)


def test_national_day_is_closed_with_ph_off():
    national_day = state(OFFICE, bj(2026, 10, 1, 10))  # a Thursday
    assert (national_day.is_open, national_day.day_type) == (False, "holiday")
    # 1-7 Oct off, Thursday 8 Oct is the first workday after Golden Week
    assert national_day.next_open == bj(2026, 10, 8, 9)
    assert national_day.calendar_known


def test_holiday_without_ph_takes_sunday_hours():
    thursday = bj(2026, 10, 1, 10)
    assert not is_open("Mo-Fr 09:00-17:00", thursday, CAL)
    assert not is_open("Mo-Sa 09:00-17:00", thursday, CAL)
    assert is_open("Mo-Su 08:00-20:00", thursday, CAL)
    assert state("Mo-Fr 09:00-17:00; Su 10:00-12:00", thursday).closes_at == bj(2026, 10, 1, 12)
    # Saturday 3 Oct sits inside the holiday block: holiday, not an ordinary Saturday
    saturday = state(UNION, bj(2026, 10, 3, 10))
    assert (saturday.is_open, saturday.day_type) == (False, "holiday")


def test_ph_rule_applies_on_every_day_of_the_block():
    hours = "Mo-Fr 09:00-17:00; PH 10:00-14:00"
    for day in range(1, 8):  # Thursday 1 Oct to Wednesday 7 Oct, weekend included
        at = bj(2026, 10, day, 11)
        assert state(hours, at) == OpenState(True, bj(2026, 10, day, 14), None, "holiday", True)
    assert state(hours, bj(2026, 10, 8, 16)).closes_at == bj(2026, 10, 8, 17)
    # OSM rule order still decides: a later weekday rule wins over an earlier PH rule
    assert is_open("PH off; Mo-Fr 09:00-17:00", bj(2026, 10, 1, 10), CAL)
    assert not is_open("Mo-Su 09:00-17:00; Su,PH off", bj(2026, 10, 2, 10), CAL)
    # "PH" inside a comment is text, not a selector
    assert not is_open('Mo-Fr 09:00-17:00 "PH open"', bj(2026, 10, 1, 10), CAL)


def test_makeup_saturday_opens_with_workday_hours():
    at = bj(2026, 10, 10, 10)
    makeup = state("Mo-Fr 09:00-17:00", at)
    assert makeup == OpenState(True, bj(2026, 10, 10, 17), None, "makeup_workday", True)
    # evaluated as the Friday before it, not with the Saturday rule
    assert state("Mo-Fr 09:00-17:00; Sa 09:00-12:00", at).closes_at == bj(2026, 10, 10, 17)
    # Friday evening: the next opening is the make-up Saturday, then Monday after Sunday 11 Oct
    assert state(OFFICE, bj(2026, 10, 9, 18)).next_open == bj(2026, 10, 10, 9)
    assert state(OFFICE, bj(2026, 10, 10, 18)).next_open == bj(2026, 10, 12, 9)


def test_makeup_sunday_uses_monday_hours():
    # Sunday 2026-09-20 is a make-up workday; Monday has longer hours than Friday here
    hours = "Mo 09:00-19:00; Tu-Fr 09:00-17:00"
    sunday = state(hours, bj(2026, 9, 20, 18))
    assert (sunday.is_open, sunday.closes_at, sunday.day_type) == (
        True,
        bj(2026, 9, 20, 19),
        "makeup_workday",
    )


def test_spring_festival_week():
    # Saturday 14 Feb is worked, 15-23 Feb off, Tuesday 24 Feb back to work
    assert state(OFFICE, bj(2026, 2, 13, 18)).next_open == bj(2026, 2, 14, 9)
    assert state(OFFICE, bj(2026, 2, 14, 18)).next_open == bj(2026, 2, 24, 9)


def test_past_the_package_data_falls_back_to_weekdays_and_says_so():
    assert CAL.known_until == date(2026, 12, 31)
    labour_day = state(OFFICE, bj(2031, 5, 1, 10))  # a Thursday, not known to the package
    assert labour_day == OpenState(True, bj(2031, 5, 1, 17), None, "workday", False)
    assert state(OFFICE, bj(2031, 5, 3, 10)).day_type == "weekend"
    # a known day whose answer depends on an unknown one is flagged too
    new_year_eve = state(OFFICE, bj(2026, 12, 31, 18))
    assert (new_year_eve.day_type, new_year_eve.next_open) == ("workday", bj(2027, 1, 1, 9))
    assert not new_year_eve.calendar_known
    assert state(OFFICE, bj(2026, 12, 31, 10)).calendar_known


def test_local_overrides_change_the_answer():
    district = ChinaCalendar(
        {date(2031, 5, 1): "holiday", date(2026, 11, 20): "holiday", date(2026, 11, 21): "workday"}
    )
    labour_day = state(OFFICE, bj(2031, 5, 1, 10), district)
    assert (labour_day.is_open, labour_day.day_type) == (False, "holiday")
    assert labour_day.next_open == bj(2031, 5, 2, 9)  # Friday, weekday logic again
    assert not labour_day.calendar_known  # 2 May is not overridden, so still a guess
    friday = state(OFFICE, bj(2026, 11, 20, 10), district)
    assert friday == OpenState(False, None, bj(2026, 11, 21, 9), "holiday", True)
    assert is_open(OFFICE, bj(2026, 11, 20, 10), CAL)
    saturday = state("Mo-Fr 09:00-17:00", bj(2026, 11, 21, 10), district)
    assert (saturday.is_open, saturday.day_type) == (True, "makeup_workday")
    assert not is_open("Mo-Fr 09:00-17:00", bj(2026, 11, 21, 10), CAL)


def test_bad_overrides_are_refused():
    with pytest.raises(ValueError, match="not a date"):
        ChinaCalendar({datetime(2026, 5, 1): "holiday"})
    with pytest.raises(ValueError, match="'holiday' or 'workday'"):
        ChinaCalendar({date(2026, 5, 1): "weekend"})  # type: ignore[dict-item]


def test_naive_datetime_and_bad_hours_are_refused():
    with pytest.raises(ValueError, match="naive"):
        open_state(UNION, datetime(2026, 11, 20, 10), CAL)
    with pytest.raises(ValueError, match="naive"):
        is_open(UNION, datetime(2026, 11, 20, 10), CAL)
    with pytest.raises(ValueError, match="naive"):
        open_mask([UNION], datetime(2026, 11, 20, 10), CAL, unknown_hours_open=True)
    with pytest.raises(ValueError, match="not valid OSM syntax"):
        open_state("whenever", bj(2026, 11, 20, 10), CAL)


def test_other_time_zones_are_converted_to_beijing():
    utc = datetime(2026, 11, 20, 11, 59, tzinfo=UTC)  # 19:59 in Beijing
    result = state(UNION, utc)
    assert result.is_open
    assert result.closes_at == bj(2026, 11, 20, 20)
    assert result.closes_at is not None
    assert result.closes_at.utcoffset() == timedelta(hours=8)


def test_never_open_and_unknown():
    assert state("off", bj(2026, 11, 20, 10)) == OpenState(False, None, None, "workday", True)
    unknown = state("Mo-Fr 09:00-17:00 unknown", bj(2026, 11, 20, 10))
    assert not unknown.is_open  # unknown is not open
    assert unknown.next_open is None


def test_open_mask_shares_answers_and_applies_the_flag():
    hours = [UNION, None, "24/7", "  ", OFFICE, UNION]
    at = bj(2026, 10, 10, 19)  # make-up Saturday, 19:00
    assert open_mask(hours, at, CAL, unknown_hours_open=False) == [
        True,
        False,
        True,
        False,
        False,
        True,
    ]
    assert open_mask(hours, at, CAL, unknown_hours_open=True)[1::2] == [True, True, True]
    assert open_mask([], at, CAL, unknown_hours_open=True) == []


EXPRESSIONS = [
    UNION,
    OFFICE,
    "24/7",
    "Mo-Fr 09:00-17:00",
    "Mo-Fr 09:00-17:00; PH 10:00-14:00",
    "Mo-Su 20:00-02:00",
    "Mo-Fr 08:00-12:00,14:00-18:00; Sa-Su,PH off",
    "off",
]


def aware_times(until: datetime) -> st.SearchStrategy[datetime]:
    """Instants from 2026 on, in Beijing or UTC time."""
    return st.datetimes(min_value=datetime(2026, 1, 1), max_value=until,
                        timezones=st.sampled_from([BEIJING, UTC]))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(hours=st.sampled_from(EXPRESSIONS), at=aware_times(datetime(2026, 12, 31, 23, 59, 59)))
def test_state_agrees_with_is_open_and_points_forward(hours, at):
    result = state(hours, at)
    assert result.is_open == is_open(hours, at, CAL)
    assert open_mask([hours], at, CAL, unknown_hours_open=False) == [result.is_open]
    horizon = at + timedelta(days=HORIZON_DAYS + 1)
    if result.is_open:
        assert result.next_open is None
        if result.closes_at is not None:
            assert at < result.closes_at <= horizon
            assert not is_open(hours, result.closes_at, CAL)
            assert is_open(hours, result.closes_at - timedelta(seconds=1), CAL)
    else:
        assert result.closes_at is None
        if result.next_open is not None:
            assert at < result.next_open <= horizon
            assert is_open(hours, result.next_open, CAL)
            assert not is_open(hours, result.next_open - timedelta(seconds=1), CAL)


MIDNIGHT_AND_HOLIDAYS = [
    bj(2026, 9, 30, 23, 59),  # the eve of National Day, a minute before midnight
    bj(2026, 10, 1, 0, 0),  # National Day, on the stroke of midnight
    bj(2026, 10, 1, 10, 0),
    bj(2026, 10, 7, 23, 59),  # the block's last evening, then a workday
    bj(2026, 10, 10, 8, 59),  # the make-up Saturday, a minute before opening
    bj(2026, 10, 10, 17, 0),
    bj(2026, 9, 20, 18, 59),  # the make-up Sunday with Monday's hours
    bj(2026, 2, 14, 23, 59),  # make-up Saturday, then Spring Festival
    bj(2026, 12, 31, 23, 59),  # the last day the package knows
]


@pytest.mark.parametrize("hours", EXPRESSIONS)
@pytest.mark.parametrize("minute", MIDNIGHT_AND_HOLIDAYS)
def test_the_minute_memo_agrees_across_holidays_make_up_days_and_midnight(hours, minute):
    for second in (0, 1, 30, 59):
        at = minute.replace(second=second, microsecond=999_999 if second == 59 else 0)
        assert open_state_memo(hours, at, CAL) == open_state(hours, at, CAL)
        assert open_state_memo(hours, at.astimezone(UTC), CAL) == open_state(hours, at, CAL)


@settings(max_examples=300, deadline=None)
@given(hours=st.sampled_from(EXPRESSIONS), at=aware_times(datetime(2027, 1, 31, 23, 59, 59)))
def test_the_minute_memo_is_the_uncached_answer(hours, at):
    assert open_state_memo(hours, at, CAL) == open_state(hours, at, CAL)


def test_the_memo_is_per_calendar_and_refuses_naive_times():
    district = ChinaCalendar({date(2026, 11, 20): "holiday"})
    friday = bj(2026, 11, 20, 10)
    assert open_state_memo(OFFICE, friday, CAL).is_open
    assert not open_state_memo(OFFICE, friday, district).is_open
    with pytest.raises(ValueError, match="naive"):
        open_state_memo(OFFICE, datetime(2026, 11, 20, 10), CAL)
