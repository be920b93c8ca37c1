"""The contact policy's rules: hours in every zone a borrower may be in (across daylight-saving changes), consent
per purpose, the flags and what each silences, the collection limits; pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from servicing.config import Settings
from servicing.errors import InvalidInput
from servicing.rules.contact import (
    ALL_PURPOSES,
    DEFAULT_RULES,
    PURPOSE_OF,
    SILENCES,
    ContactRules,
    Facts,
    Flag,
    Kind,
    Purpose,
    Status,
    Verdict,
    candidate_zones,
    country_zones,
    decide,
    next_allowed_moment,
    phone_zones,
)

NEW_YORK, LOS_ANGELES, HONOLULU = "America/New_York", "America/Los_Angeles", "Pacific/Honolulu"
KOLKATA, SAO_PAULO, JAKARTA = "Asia/Kolkata", "America/Sao_Paulo", "Asia/Jakarta"
PHONES = {  # numbers whose prefix libphonenumber places in one zone
    NEW_YORK: "+12125550143", LOS_ANGELES: "+14155550143", HONOLULU: "+18085550143",
    KOLKATA: "+919876543210", SAO_PAULO: "+5511987654321", JAKARTA: "+6281234567890",
}  # fmt: skip
WINTER_NIGHT = datetime(2026, 1, 28, 5, 30, tzinfo=UTC)  # 0:30 NY, 21:30 LA, 19:30 HNL, 11:00 IST, 2:30 BRT, 12:30 WIB


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


SUMMER_NOON = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)  # 12:00 in New York


def verdict(kind: Kind = Kind.PAST_DUE, now: datetime = SUMMER_NOON, **facts: object) -> Verdict:
    values: dict[str, object] = {"zones": (NEW_YORK,), **facts}
    return decide(kind, Facts(**values), now)  # type: ignore[arg-type]


# -- hours -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (NEW_YORK, at(2026, 1, 28, 13, 0)),  # 08:00 EST
        (LOS_ANGELES, at(2026, 1, 28, 16, 0)),  # 21:30 is too late: 08:00 PST
        (HONOLULU, WINTER_NIGHT),  # 19:30 HST: now
        (KOLKATA, WINTER_NIGHT),  # 11:00 IST: now
        (SAO_PAULO, at(2026, 1, 28, 11, 0)),  # 08:00 BRT (no daylight saving since 2019)
        (JAKARTA, WINTER_NIGHT),  # 12:30 WIB: now
    ],
)
def test_a_message_goes_between_eight_and_nine_in_the_borrowers_zone_or_waits_for_eight(
    zone: str, expected: datetime
) -> None:
    assert next_allowed_moment((zone,), WINTER_NIGHT, time(8), time(21)) == expected


def test_the_window_opens_at_eight_sharp_and_closes_before_nine_in_the_evening() -> None:
    eight, to_nine, nine = at(2026, 6, 10, 12, 0), at(2026, 6, 11, 0, 59), at(2026, 6, 11, 1, 0)  # EDT
    assert next_allowed_moment((NEW_YORK,), eight, time(8), time(21)) == eight
    assert next_allowed_moment((NEW_YORK,), to_nine, time(8), time(21)) == to_nine
    assert next_allowed_moment((NEW_YORK,), nine, time(8), time(21)) == at(2026, 6, 11, 12, 0)


@pytest.mark.parametrize(
    ("zone", "night", "morning"),
    [
        # 2026-11-01: the US falls back; the first allowed moment is 08:00 standard time, an hour later in UTC
        (NEW_YORK, at(2026, 11, 1, 3, 30), at(2026, 11, 1, 13, 0)),
        (LOS_ANGELES, at(2026, 11, 1, 6, 30), at(2026, 11, 1, 16, 0)),
        # 2027-03-14: the US springs forward; 08:00 daylight time comes an hour earlier in UTC
        (NEW_YORK, at(2027, 3, 14, 3, 0), at(2027, 3, 14, 12, 0)),
        (LOS_ANGELES, at(2027, 3, 14, 6, 0), at(2027, 3, 14, 15, 0)),
        # Hawaii keeps its clock: the same UTC hour on both sides of the US changes
        (HONOLULU, at(2026, 11, 1, 8, 0), at(2026, 11, 1, 18, 0)),
        (HONOLULU, at(2027, 3, 14, 8, 0), at(2027, 3, 14, 18, 0)),
    ],
)
def test_the_morning_follows_the_borrowers_clock_across_daylight_saving_changes(
    zone: str, night: datetime, morning: datetime
) -> None:
    assert next_allowed_moment((zone,), night, time(8), time(21)) == morning


def test_the_evening_ends_at_nine_local_time_on_both_sides_of_the_fall_back() -> None:
    saturday_evening = at(2026, 11, 1, 0, 59)  # 20:59 EDT on Saturday October 31
    sunday_evening = at(2026, 11, 2, 1, 59)  # 20:59 EST on Sunday November 1
    for moment in (saturday_evening, sunday_evening):
        assert next_allowed_moment((NEW_YORK,), moment, time(8), time(21)) == moment
    assert next_allowed_moment((NEW_YORK,), at(2026, 11, 2, 2, 0), time(8), time(21)) == at(2026, 11, 2, 13, 0)


def test_when_phone_and_address_disagree_only_the_hours_allowed_in_both_count() -> None:
    zones = candidate_zones(NEW_YORK, True, [PHONES[LOS_ANGELES]], "US")
    assert zones == (NEW_YORK, LOS_ANGELES)
    ten_in_new_york = at(2026, 6, 10, 14, 0)  # 07:00 in Los Angeles: too early there
    assert next_allowed_moment(zones, ten_in_new_york, time(8), time(21)) == at(2026, 6, 10, 15, 0)
    evening_in_los_angeles = at(2026, 6, 11, 1, 0)  # 18:00 in Los Angeles, 21:00 in New York: too late there
    assert next_allowed_moment(zones, evening_in_los_angeles, time(8), time(21)) == at(2026, 6, 11, 15, 0)


def test_zones_far_apart_leave_only_their_shared_hours() -> None:
    zones = (HONOLULU, JAKARTA)  # 17 hours apart: both awake from 01:00 to 07:00 UTC
    assert next_allowed_moment(zones, at(2026, 6, 10, 12, 0), time(8), time(21)) == at(2026, 6, 11, 1, 0)
    assert next_allowed_moment(zones, at(2026, 6, 11, 6, 59), time(8), time(21)) == at(2026, 6, 11, 6, 59)


def test_zones_that_share_no_hour_fall_back_to_the_borrowers_own_zone() -> None:
    zones = (NEW_YORK, KOLKATA)  # 9:00-17:00 in both never overlaps (9.5 to 10.5 hours apart)
    assert next_allowed_moment(zones, at(2026, 6, 10, 2, 0), time(9), time(17)) == at(2026, 6, 10, 13, 0)


def test_the_phone_number_places_a_borrower_in_a_zone() -> None:
    for zone, phone in PHONES.items():
        assert phone_zones(phone) in ((zone,), ("Asia/Calcutta",)) or zone in phone_zones(phone), zone
    assert phone_zones("+15550000001") == ()  # a 555 number tells nothing
    assert phone_zones("not a number") == ()


def test_a_zone_not_known_from_the_file_is_the_phones_else_every_zone_of_the_country() -> None:
    assert candidate_zones(NEW_YORK, False, [PHONES[LOS_ANGELES]], "US") == (LOS_ANGELES,)
    every_us_zone = candidate_zones(NEW_YORK, False, ["+15550000001"], "US")
    assert every_us_zone == country_zones("US") and {NEW_YORK, HONOLULU, "America/Adak"} <= set(every_us_zone)
    # from Adak and Honolulu's 08:00 to New York's 21:00
    summer_noon_in_new_york = at(2026, 6, 10, 16, 0)
    assert next_allowed_moment(every_us_zone, summer_noon_in_new_york, time(8), time(21)) == at(2026, 6, 10, 18, 0)
    assert candidate_zones("Not/A_Zone", True, [], "IN") == (KOLKATA,)
    assert candidate_zones(None, False, [], None) == ("UTC",)


def test_a_deferred_verdict_says_until_when() -> None:
    night = verdict(now=at(2026, 6, 11, 3, 0))
    assert (night.status, night.reason, night.send_after) == (Status.DEFERRED, "quiet_hours", at(2026, 6, 11, 12, 0))
    assert verdict() == Verdict(Status.QUEUED)


# -- consent -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
def test_stop_suppresses_every_kind_of_message(kind: Kind) -> None:
    assert verdict(kind, revoked=frozenset({ALL_PURPOSES})) == Verdict(Status.SUPPRESSED, "opted_out")


@pytest.mark.parametrize("kind", list(Kind))
def test_revoking_one_purpose_suppresses_only_the_messages_of_that_purpose(kind: Kind) -> None:
    for purpose in Purpose:
        decided = verdict(kind, revoked=frozenset({purpose.value}))
        assert (decided.status is Status.SUPPRESSED) == (PURPOSE_OF[kind] is purpose), (kind, purpose)


# -- flags ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", list(Flag))
@pytest.mark.parametrize("kind", list(Kind))
def test_each_flag_silences_its_purposes_and_never_a_servicing_notice(flag: Flag, kind: Kind) -> None:
    decided = verdict(kind, flags=frozenset({flag}))
    silenced = PURPOSE_OF[kind] in SILENCES[flag]
    assert decided == (Verdict(Status.SUPPRESSED, flag.value) if silenced else Verdict(Status.QUEUED))
    assert PURPOSE_OF[kind] is not Purpose.SERVICING or not silenced


def test_what_each_flag_silences() -> None:
    both = {Purpose.REMINDER, Purpose.COLLECTION}
    assert {flag: set(purposes) for flag, purposes in SILENCES.items()} == {
        Flag.DECEASED: both, Flag.BANKRUPTCY: both, Flag.CEASE_COMMUNICATION: both,
        Flag.FORBEARANCE: {Purpose.COLLECTION}, Flag.REPAYMENT_PLAN: {Purpose.COLLECTION},
        Flag.SPECIALIST_CONVERSATION: {Purpose.COLLECTION}, Flag.PROMISE_OPEN: {Purpose.COLLECTION},
    }  # fmt: skip


def test_the_weightiest_flag_is_the_reason_recorded() -> None:
    flags = frozenset({Flag.PROMISE_OPEN, Flag.BANKRUPTCY, Flag.DECEASED})
    assert verdict(flags=flags).reason == "deceased"


# -- collection limits ----------------------------------------------------------------------------------------


def test_no_collection_message_on_the_day_a_payment_arrives_but_the_confirmation_goes() -> None:
    assert verdict(Kind.PAST_DUE, payment_today=True) == Verdict(Status.SUPPRESSED, "payment_today")
    assert verdict(Kind.PAYMENT_RECEIVED, payment_today=True) == Verdict(Status.QUEUED)
    assert verdict(Kind.PAYMENT_REMINDER, payment_today=True) == Verdict(Status.QUEUED)


def test_three_collection_messages_in_seven_days_is_the_cap() -> None:
    assert verdict(collection_recent=2) == Verdict(Status.QUEUED)
    assert verdict(collection_recent=3) == Verdict(Status.SUPPRESSED, "frequency_cap")
    assert verdict(Kind.PAYMENT_REMINDER, collection_recent=9) == Verdict(Status.QUEUED)  # reminders don't count
    assert decide(Kind.PAST_DUE, Facts((NEW_YORK,), collection_recent=3), at(2026, 6, 10, 16, 0),
                  count_cap=False) == Verdict(Status.QUEUED)  # fmt: skip


def test_one_collection_message_a_day() -> None:
    assert verdict(collection_recent=1, collection_today=1) == Verdict(Status.SUPPRESSED, "frequency_cap")


def test_a_portfolio_sets_its_own_rules_from_the_environment() -> None:
    settings = Settings.from_env({"LOANLINE_SECRET_KEY": "k", "LOANLINE_CONTACT_HOURS": "09:00-20:00",
                                  "LOANLINE_COLLECTION_CAP": "2", "LOANLINE_COLLECTION_CAP_DAYS": "10",
                                  "LOANLINE_COLLECTION_PER_DAY": "2", "LOANLINE_REMINDER_DAYS_BEFORE_DUE": "3",
                                  "LOANLINE_TIMEZONE": "America/Chicago"})  # fmt: skip
    assert settings.contact_rules() == ContactRules(time(9), time(20), 2, 10, 2, 3, "America/Chicago")
    assert Settings.from_env({"LOANLINE_SECRET_KEY": "k"}).contact_rules() == DEFAULT_RULES


@pytest.mark.parametrize(
    ("name", "value"),
    [("LOANLINE_CONTACT_HOURS", "21:00-08:00"), ("LOANLINE_CONTACT_HOURS", "8-21"),
     ("LOANLINE_COLLECTION_CAP", "-1"), ("LOANLINE_COLLECTION_CAP_DAYS", "0"),
     ("LOANLINE_REMINDER_DAYS_BEFORE_DUE", "ninety")],
)  # fmt: skip
def test_a_contact_setting_that_makes_no_sense_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=name):
        Settings.from_env({"LOANLINE_SECRET_KEY": "k", name: value})
