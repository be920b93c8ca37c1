"""Reg X 1024.39 early intervention: which live-contact and written-notice tasks a delinquency still needs."""

from __future__ import annotations

from datetime import date

from servicing.cases import DelinquencyTask, early_intervention_due


def deadlines(tasks: list[DelinquencyTask]) -> list[list[tuple[str, date]]]:
    return [[(clock.name, due) for clock, due in task.deadlines] for task in tasks]


def test_a_delinquency_needs_contact_by_day_36_notice_by_day_45_and_contact_again_after_each_due_date() -> None:
    # delinquent since 2026-02-01; by 2026-04-10 the installments due 03-01 and 04-01 have fallen due unpaid too:
    # contact by 02-01 + 36 = 03-09, notice by 02-01 + 45 = 03-18; contact by 03-01 + 36 = 04-06, 04-01 + 36 = 05-07
    tasks = early_intervention_due(
        7, 3, date(2026, 2, 1), [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)],
        contacts_asked=frozenset(), delinquency_known=False, last_notice=None,
    )  # fmt: skip
    assert deadlines(tasks) == [
        [("live_contact", date(2026, 3, 9)), ("written_notice", date(2026, 3, 18))],
        [("live_contact", date(2026, 4, 6))],
        [("live_contact", date(2026, 5, 7))],
    ]
    assert tasks[2].about == "the payment due 2026-04-01 is unpaid too"
    assert {task.since for task in tasks} == {date(2026, 2, 1)}


def test_nothing_already_asked_is_asked_again() -> None:
    tasks = early_intervention_due(
        7, 3, date(2026, 2, 1), [date(2026, 2, 1), date(2026, 3, 1)],
        contacts_asked=frozenset({date(2026, 3, 9), date(2026, 4, 6)}), delinquency_known=True, last_notice=None,
    )  # fmt: skip
    assert tasks == []


def test_the_written_notice_is_not_required_twice_within_180_days() -> None:
    # a rolled delinquency since 2026-03-01: its notice would be due 03-01 + 45 = 04-15, only 36 days after
    # the last one (2026-03-10); its day-36 contact (04-06) was already asked when 03-01 fell due unpaid.
    rolled = early_intervention_due(
        7, 3, date(2026, 3, 1), [date(2026, 3, 1)],
        contacts_asked=frozenset({date(2026, 3, 9), date(2026, 4, 6)}), delinquency_known=False,
        last_notice=date(2026, 3, 10),
    )  # fmt: skip
    assert rolled == []
    # 2026-09-10 is 184 days after 2026-03-10 (at least 180): a delinquency since 2026-07-27 needs the notice again
    later = early_intervention_due(
        7, 3, date(2026, 7, 27), [date(2026, 7, 27)],
        contacts_asked=frozenset(), delinquency_known=False, last_notice=date(2026, 3, 10),
    )  # fmt: skip
    assert deadlines(later) == [[("live_contact", date(2026, 9, 1)), ("written_notice", date(2026, 9, 10))]]
