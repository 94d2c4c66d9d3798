"""Opening hours in OSM ``opening_hours`` syntax, parsed by opening-hours-py.

Validation happens on write, so every stored value can be evaluated later (open now, closes at).

Evaluation in China
-------------------
opening-hours-py is never given a country here. Its ``CN`` calendar (checked with 2.1.4) holds
one day per festival (1 Jan, the Spring Festival day, 1 May, Dragon Boat, Mid-Autumn, 1 Oct; no
Qingming) and neither the other days of a holiday block nor make-up workdays (调休). Day types
come from :class:`ChinaCalendar` (chinese_calendar plus local overrides). Each day is evaluated
by its type:

* ``workday``, ``weekend``: the expression as written, on the real date. ``PH`` never matches.
* ``makeup_workday`` (a Saturday or Sunday declared a workday): evaluated as the adjacent workday
  of the same week: a Saturday as the Friday before it, a Sunday as the Monday after it. So
  "Mo-Fr 09:00-17:00" is open on Saturday 2026-10-10, with Friday's hours where they differ.
* ``holiday`` (every day of an official holiday block, including the weekend days inside it):

  - if the expression mentions ``PH``: the real date with ``PH`` true. The library sees the
    expression with every ``PH`` replaced by that day's weekday, so OSM rule order decides as
    usual: "Mo-Fr 09:00-17:00; PH off" is closed, "Mo-Fr 09:00-17:00; PH 10:00-14:00" opens 10-14;
  - otherwise: as the Sunday of the same week. A place that gives no holiday hours keeps its
    Sunday hours: "24/7" and "Mo-Su 08:00-20:00" stay open, "Mo-Fr ..." and "Mo-Sa ..." close.
    Offices and union stations close on statutory holidays (法定节假日) unless they open every day.

* A date outside chinese_calendar's data and not overridden: weekday logic (Mo-Fr ``workday``,
  Sa-Su ``weekend``), and the answer says ``calendar_known=False``.

``closes_at`` and ``next_open`` walk forward day by day (up to :data:`HORIZON_DAYS`), each day
under its own rule, so they agree with :func:`is_open` at those instants. That walk is the
costly part; :func:`open_state_memo` shares one answer per (hours, local minute, calendar),
since OSM hours change state on whole minutes only and many places share a few strings.
The ``unknown`` state counts as not open. Known limits: a day evaluated as another date sees
the month/date selectors of that date (at most 6 days away); after midnight the new day's rule
applies, so a span that runs past midnight into a day of another type follows that day's rule;
``SH`` never matches; holiday offsets (``PH +1 day``) cannot be rewritten and take the Sunday
rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal

import chinese_calendar  # type: ignore[import-untyped]
import opening_hours

from geo.standards import BEIJING

MAX_LENGTH = 255
STATE_MEMO_SIZE = 16_384  # (hours, minute) answers; a minute of /locate needs ~80 per string
HORIZON_DAYS = 14  # longest holiday block is 8-9 days; two weeks also covers a weekend after it

DayType = Literal["workday", "weekend", "holiday", "makeup_workday"]
DayOverride = Literal["holiday", "workday"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
_WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_PH = re.compile(r"\bPH\b")


def validate_opening_hours(text: str) -> str:
    """Return ``text`` stripped if it parses; raise ``ValueError`` saying why not."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("opening_hours is empty")
    if len(cleaned) > MAX_LENGTH:
        raise ValueError(f"opening_hours is longer than {MAX_LENGTH} characters")
    try:
        opening_hours.OpeningHours(cleaned)
    except (opening_hours.ParserError, SyntaxError) as exc:  # type: ignore[attr-defined]
        raise ValueError(f"opening_hours {cleaned!r} is not valid OSM syntax") from exc
    return cleaned


class ChinaCalendar:
    """Mainland China day types from chinese_calendar; local ``overrides`` win over the package.

    ``known_from``..``known_until`` is the range of whole years the package has data for; beyond
    it a day counts as a workday or weekend by its weekday unless an override says otherwise.
    """

    def __init__(self, overrides: Mapping[date, DayOverride] | None = None) -> None:
        checked: dict[date, DayOverride] = {}
        for day, kind in (overrides or {}).items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"calendar override key {day!r} is not a date")
            if kind not in ("holiday", "workday"):
                raise ValueError(f"calendar override for {day} must be 'holiday' or 'workday'")
            checked[day] = kind
        self.overrides: Mapping[date, DayOverride] = MappingProxyType(checked)
        years = [day.year for day in chinese_calendar.holidays]
        self.known_from = date(min(years), 1, 1)
        self.known_until = date(max(years), 12, 31)
        # Day types never change for a calendar; chinese_calendar scans its tables on every
        # lookup (min/max over all holidays), which dominated the locator's time.
        self._day_types: dict[date, DayType] = {}

    def is_known(self, day: date) -> bool:
        """Whether the day's type comes from an override or the package, not from its weekday."""
        return day in self.overrides or self.known_from <= day <= self.known_until

    def day_type(self, day: date) -> DayType:
        known = self._day_types.get(day)
        if known is None:
            known = self._day_types[day] = self._classify(day)
        return known

    def _classify(self, day: date) -> DayType:
        weekend = day.weekday() >= 5
        kind = self.overrides.get(day)
        if kind == "holiday":
            return "holiday"
        if kind == "workday":
            return "makeup_workday" if weekend else "workday"
        if self.known_from <= day <= self.known_until:
            off, name = chinese_calendar.get_holiday_detail(day)
            if off and name is not None:
                return "holiday"
            if not off and weekend:
                return "makeup_workday"
        return "weekend" if weekend else "workday"


@dataclass(frozen=True)
class OpenState:
    """Whether a place is open at a moment; times are Asia/Shanghai, ``None`` when not found
    within :data:`HORIZON_DAYS` (``closes_at`` of a 24/7 place, ``next_open`` of a closed one)."""

    is_open: bool
    closes_at: datetime | None
    next_open: datetime | None
    day_type: DayType
    # False if the day of ``at``, or a day walked to find closes_at/next_open, is past
    # chinese_calendar's data and not overridden: that day was typed by its weekday
    calendar_known: bool


@dataclass(frozen=True)
class _Plan:
    """How one local day is evaluated: these rules, at the real time plus ``shift``."""

    rules: opening_hours.OpeningHours
    shift: timedelta
    day_type: DayType
    known: bool


@dataclass(frozen=True)
class _Stretch:
    """From ``since`` (naive local) on, open or not, by a day type the calendar knows or not."""

    since: datetime
    is_open: bool
    known: bool


@lru_cache(maxsize=4096)
def _parse(text: str) -> opening_hours.OpeningHours:
    return opening_hours.OpeningHours(validate_opening_hours(text))


@lru_cache(maxsize=4096)
def _holiday_rules(text: str, weekday: int) -> opening_hours.OpeningHours | None:
    """The expression with ``PH`` true on a day of ``weekday``; ``None`` without a usable PH."""
    parts = str(_parse(text)).split('"')  # even parts are outside "comments"
    if not any(_PH.search(part) for part in parts[::2]):
        return None
    parts[::2] = [_PH.sub(_WEEKDAYS[weekday], part) for part in parts[::2]]
    try:
        return opening_hours.OpeningHours('"'.join(parts))
    except (opening_hours.ParserError, SyntaxError):  # type: ignore[attr-defined]
        return None  # e.g. "PH +1 day": no weekday can stand in for it


def _plan(text: str, day: date, calendar: ChinaCalendar) -> _Plan:
    rules = _parse(text)
    kind = calendar.day_type(day)
    weekday = day.weekday()
    shift = 0
    if kind == "makeup_workday" and weekday >= 5:
        shift = -1 if weekday == 5 else 1  # Saturday as Friday, Sunday as Monday
    elif kind == "holiday":
        holiday_rules = _holiday_rules(text, weekday)
        if holiday_rules is None:
            shift = 6 - weekday  # as the Sunday of the same week
        else:
            rules = holiday_rules
    return _Plan(rules, timedelta(days=shift), kind, calendar.is_known(day))


HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节", "Anti-Fascist 70th Day": "抗战胜利纪念日",
}  # fmt: skip


@dataclass(frozen=True)
class DaySchedule:
    """One local day as a place's hours make it: its type under the Chinese calendar (with the
    holiday's name) and the stretches open, as wall-clock ``("HH:MM", "HH:MM")`` pairs
    (``"24:00"`` for midnight at the end)."""

    day: date
    day_type: DayType
    holiday: str | None
    calendar_known: bool
    open: tuple[tuple[str, str], ...]


def _clock(moment: datetime, day: date) -> str:
    return "24:00" if moment.date() > day else moment.strftime("%H:%M")


def week_schedule(
    text: str, start: date, calendar: ChinaCalendar, days: int = 7
) -> list[DaySchedule]:
    """The next ``days`` days from ``start`` under ``text``: what the console previews while an
    editor types hours, so a holiday or a make-up workday (调休) shows before it is saved.

    Raises ``ValueError`` (why) for hours that do not parse.
    """
    validate_opening_hours(text)
    schedule: list[DaySchedule] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        plan = _plan(text, day, calendar)
        begin = datetime.combine(day, time())
        end = begin + timedelta(days=1)
        stretches = tuple(
            (_clock(since - plan.shift, day), _clock(until - plan.shift, day))
            for since, until, state, _comment in plan.rules.intervals(
                begin + plan.shift, end + plan.shift
            )
            if state == opening_hours.State.OPEN and until > since
        )
        name = None
        if plan.day_type == "holiday" and calendar.known_from <= day <= calendar.known_until:
            english = chinese_calendar.get_holiday_detail(day)[1]
            name = HOLIDAY_NAMES_ZH.get(english, english) if english else None
        schedule.append(DaySchedule(day, plan.day_type, name, plan.known, stretches))
    return schedule


def beijing_time(at: datetime) -> datetime:
    """``at`` with Beijing's zone when it has none: what a worker or planner in China means."""
    return at if at.tzinfo is not None else at.replace(tzinfo=BEIJING)


def _naive(at: datetime) -> ValueError:
    return ValueError(f"datetime {at.isoformat()} is naive; pass an aware one (Asia/Shanghai)")


def _local(at: datetime) -> datetime:
    """``at`` as naive Beijing wall time (China has one zone and no DST since 1991)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise _naive(at)
    return at.astimezone(BEIJING).replace(tzinfo=None)


def _open_at(plan: _Plan, local: datetime) -> bool:
    return bool(plan.rules.is_open(local + plan.shift))


def _stretches(text: str, start: datetime, calendar: ChinaCalendar) -> Iterator[_Stretch]:
    """Successive stretches of one state from ``start`` (naive local), each day under its plan."""
    for offset in range(HORIZON_DAYS + 1):
        day = start.date() + timedelta(days=offset)
        plan = _plan(text, day, calendar)
        begin = start if offset == 0 else datetime.combine(day, time())
        end = datetime.combine(day + timedelta(days=1), time())
        for since, _until, state, _comment in plan.rules.intervals(
            begin + plan.shift, end + plan.shift
        ):
            yield _Stretch(since - plan.shift, state == opening_hours.State.OPEN, plan.known)


def open_state(hours_text: str, at: datetime, calendar: ChinaCalendar) -> OpenState:
    """Open or not at ``at`` (aware), when it closes or next opens, and which rule applied.

    Raises ``ValueError`` for a naive ``at`` or hours that do not parse.
    """
    local = _local(at)
    plan = _plan(hours_text, local.date(), calendar)
    now_open = _open_at(plan, local)
    known = plan.known
    change: datetime | None = None
    for stretch in _stretches(hours_text, local, calendar):
        known = known and stretch.known
        if stretch.since > local and stretch.is_open != now_open:
            change = stretch.since.replace(tzinfo=BEIJING)
            break
    return OpenState(
        is_open=now_open,
        closes_at=change if now_open else None,
        next_open=None if now_open else change,
        day_type=plan.day_type,
        calendar_known=known,
    )


def open_state_memo(hours_text: str, at: datetime, calendar: ChinaCalendar) -> OpenState:
    """:func:`open_state`, one answer shared by every instant of the same minute.

    The answer at the minute's start holds for the whole minute when the first change after
    it comes a minute or more later: open or not is then the same throughout, and so is that
    change. OSM hours change state on whole minutes, so that is always the case in Beijing;
    an answer that could change within its minute is computed for ``at`` itself instead.
    """
    try:
        minute = (at - _EPOCH) // _MINUTE  # naive ``at``: a TypeError, and no check per call
    except TypeError:
        raise _naive(at) from None
    state = _state_in_minute(hours_text, minute, calendar)
    return state if state is not None else open_state(hours_text, at, calendar)


@lru_cache(maxsize=STATE_MEMO_SIZE)
def _state_in_minute(hours_text: str, minute: int,
                     calendar: ChinaCalendar) -> OpenState | None:  # fmt: skip
    """The state at the start of ``minute`` (since the epoch); ``None`` if not shareable."""
    start = (_EPOCH + minute * _MINUTE).astimezone(BEIJING)
    state = open_state(hours_text, start, calendar)
    change = state.closes_at or state.next_open
    if change is not None and change - start < _MINUTE:
        return None
    if (start + _MINUTE - timedelta(microseconds=1)).date() != start.date():
        return None  # straddles local midnight: only with an offset in seconds (before 1901)
    return state


def is_open(hours_text: str, at: datetime, calendar: ChinaCalendar) -> bool:
    """Whether the place is open at ``at`` (aware); same rule as :func:`open_state`."""
    local = _local(at)
    return _open_at(_plan(hours_text, local.date(), calendar), local)


def open_mask(
    hours: Sequence[str | None],
    at: datetime,
    calendar: ChinaCalendar,
    *,
    unknown_hours_open: bool,
) -> list[bool]:
    """``is_open`` for many places at one moment; missing or blank hours give the flag.

    Each distinct string is evaluated once (thousands of stations share a few strings).
    """
    local = _local(at)
    answers: dict[str, bool] = {}
    mask: list[bool] = []
    for text in hours:
        if text is None or not text.strip():
            mask.append(unknown_hours_open)
            continue
        if text not in answers:
            answers[text] = _open_at(_plan(text, local.date(), calendar), local)
        mask.append(answers[text])
    return mask
