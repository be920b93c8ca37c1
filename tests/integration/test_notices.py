"""Notices to a borrower: in their language, on the channel they last used, or SMS to their phone, with STOP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import UnverifiedDisclosure, find_or_open_conversation
from servicing.decisions import APPLICATION_DENIED, DENIAL_REASONS, MISSING_DOCUMENTS
from servicing.notices import Amount, Phrases, notify_borrower
from servicing.speaking import say
from servicing.store.models import BorrowerPhone, Loan, OutboxItem
from tests.integration.helpers import board

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
PAYMENT_DUE = say("Your payment of {amount} is due on {due}.")


def loan_of(session: Session, number: str) -> Loan:
    return session.scalars(select(Loan).where(Loan.loan_number == number)).one()


def test_a_borrower_who_never_wrote_gets_an_sms_in_their_language_with_the_opt_out_line(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = loan_of(session, board(session, locale="es_US"))
        phrases = Phrases((DENIAL_REASONS["income"],))
        notice = notify_borrower(session, loan, APPLICATION_DENIED, now=NOW, reference="LM-000001",
                                 reason=phrases, until=date(2026, 4, 3))  # fmt: skip
        assert notice is not None
        item = session.scalars(select(OutboxItem).where(OutboxItem.message_id == notice.id)).one()
    assert item.channel == "sms"
    assert item.proactive is True
    assert item.body.startswith("Su solicitud de asistencia LM-000001 no fue aprobada: sus ingresos no permiten")
    assert item.body.endswith("Responda STOP para darse de baja.")


def test_the_notice_goes_to_the_channel_the_borrower_last_wrote_on(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = loan_of(session, board(session, locale="fr_FR"))
        sms = find_or_open_conversation(session, "sms", "+15550000999", NOW - timedelta(days=3))
        sms.borrower_id = loan.borrower_id
        telegram = find_or_open_conversation(session, "telegram", "424242", NOW - timedelta(hours=1))
        telegram.borrower_id, telegram.locale = loan.borrower_id, "fr"
        session.flush()
        documents = Phrases((MISSING_DOCUMENTS["income"], MISSING_DOCUMENTS["bank"]))
        notice = notify_borrower(session, loan, say("Your assistance application {reference} is missing: "
                                                    "{documents}. Please send them so that we can review it."),
                                 now=NOW, reference="LM-000002", documents=documents)  # fmt: skip
        assert notice is not None
        item = session.scalars(select(OutboxItem).where(OutboxItem.message_id == notice.id)).one()
    assert (item.channel, item.address) == ("telegram", "424242")
    assert "justificatif de revenus, vos deux derniers relevés bancaires" in item.body
    assert "STOP" not in item.body  # the opt-out line is for SMS


def test_amounts_and_dates_are_written_the_borrowers_way(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = loan_of(session, board(session))
        notice = notify_borrower(session, loan, PAYMENT_DUE, now=NOW, disclosure_confirmed=True,
                                 amount=Amount(Decimal("1051.69"), "USD"), due=date(2026, 4, 1))  # fmt: skip
        assert notice is not None
        assert notice.body.startswith("Your payment of $1,051.69 is due on")
        assert "2026" in notice.body


def test_an_amount_for_a_borrower_who_has_not_verified_is_refused_unless_confirmed(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = loan_of(session, board(session))
        with pytest.raises(UnverifiedDisclosure, match="this notice tells loan figures"):
            notify_borrower(session, loan, PAYMENT_DUE, now=NOW, amount=Amount(Decimal("1"), "USD"), due=NOW.date())


def test_a_borrower_with_no_channel_and_no_phone_gets_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = loan_of(session, board(session))
        session.execute(delete(BorrowerPhone).where(BorrowerPhone.borrower_id == loan.borrower_id))
        assert notify_borrower(session, loan, PAYMENT_DUE, now=NOW, amount="1", due="2") is None
        assert session.scalars(select(OutboxItem)).all() == []
