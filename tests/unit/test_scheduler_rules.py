"""Which daily jobs are due: at or after their local time, on business days, once per date in a process."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from servicing.operations.scheduler import Job, Schedule, tick

FRIDAY, SATURDAY = date(2026, 3, 20), date(2026, 3, 21)
GOOD_FRIDAY_UK = date(2026, 4, 3)


class Lock:
    """Leadership the test hands out."""

    def __init__(self, free: bool = True) -> None:
        self.free = free

    def try_to_lead(self) -> bool:
        return self.free

    def still_leading(self) -> bool:
        return self.free

    def step_down(self) -> None:
        self.free = False


def ny(day: date, hour: int, minute: int = 0) -> datetime:
    """Return a moment given in New York time, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def recording_schedule(ran: list[tuple[str, date]], country: str = "US") -> Schedule:
    def job(name: str, at: time) -> Job:
        return Job(name, at, lambda day: ran.append((name, day)) or "ok")

    return Schedule([job("eod", time(22)), job("partitions", time(3))], "America/New_York", country)


def test_end_of_day_runs_once_at_its_local_time_on_a_business_day() -> None:
    ran: list[tuple[str, date]] = []
    schedule = recording_schedule(ran)
    assert tick(schedule, Lock(), ny(FRIDAY, 21, 59)).ran == ["partitions"]
    assert tick(schedule, Lock(), ny(FRIDAY, 22, 0)).ran == ["eod"]
    assert tick(schedule, Lock(), ny(FRIDAY, 23, 30)).ran == []
    assert ran == [("partitions", FRIDAY), ("eod", FRIDAY)]


def test_the_local_time_is_the_portfolios_zone_not_utc() -> None:
    ran: list[tuple[str, date]] = []
    schedule = recording_schedule(ran)
    # 01:30 UTC on Saturday is still 21:30 on Friday in New York: end of day is not due yet
    assert tick(schedule, Lock(), datetime(2026, 3, 21, 1, 30, tzinfo=UTC)).ran == ["partitions"]
    assert tick(schedule, Lock(), datetime(2026, 3, 21, 2, 5, tzinfo=UTC)).ran == ["eod"]
    assert ("eod", FRIDAY) in ran


def test_no_end_of_day_on_a_weekend_or_a_holiday_of_the_portfolios_country_but_housekeeping_runs() -> None:
    ran: list[tuple[str, date]] = []
    assert tick(recording_schedule(ran), Lock(), ny(SATURDAY, 23)).ran == ["partitions"]
    assert tick(recording_schedule(ran, "GB"), Lock(), ny(GOOD_FRIDAY_UK, 23)).ran == ["partitions"]
    assert tick(recording_schedule(ran, "US"), Lock(), ny(GOOD_FRIDAY_UK, 23)).ran == ["eod", "partitions"]


def test_a_standby_runs_nothing_and_a_job_already_done_in_the_database_is_not_run_again() -> None:
    ran: list[tuple[str, date]] = []
    assert tick(recording_schedule(ran), Lock(free=False), ny(FRIDAY, 23)).leading is False
    assert ran == []
    done = Schedule([Job("eod", time(22), lambda _d: ran.append(("eod", FRIDAY)) or "ok", lambda _d: True)],
                    "America/New_York", "US")  # fmt: skip
    assert tick(done, Lock(), ny(FRIDAY, 23)).ran == []
    assert ran == []


def test_a_failed_job_is_tried_again_at_the_next_tick() -> None:
    attempts: list[date] = []

    def flaky(day: date) -> str:
        attempts.append(day)
        if len(attempts) == 1:
            raise RuntimeError("the database went away")
        return "ok"

    schedule = Schedule([Job("eod", time(22), flaky)], "America/New_York", "US")
    assert tick(schedule, Lock(), ny(FRIDAY, 22, 1)).failed == ["eod"]
    assert tick(schedule, Lock(), ny(FRIDAY, 22, 2)).ran == ["eod"]
    assert attempts == [FRIDAY, FRIDAY]
