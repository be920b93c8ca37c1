"""A specialist's decisions on cases, each one use case in one transaction, audited with its note.

Each decision moves the case through `servicing.cases` (which keeps the legal clocks), records a
`case.decision` audit entry with the specialist's note, and, when the borrower must hear about it, queues a
notice in their language on their channel (`servicing.notices.notify_borrower`). Given a `Correspondence`,
a decision that owes the borrower a written notice or letter makes it (`servicing.documents.case_letters`).
The caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.cases import (
    CaseIdentity,
    CaseKind,
    Protections,
    Topic,
    close_case,
    documents_due,
    extend_resolution,
    get_case,
    identity_unconfirmed,
    meet_deadline,
    move_loss_mitigation,
    open_case,
    open_deadline,
    record_complete_notice,
)
from servicing.documents.case_letters import (
    application_acknowledgement,
    application_complete_notice,
    denial_notice,
    error_response,
    information_response,
    offer_notice,
    request_acknowledgement,
)
from servicing.documents.correspondence import Correspondence
from servicing.documents.letters import early_intervention_notice, payoff_statement_for_request
from servicing.errors import InvalidInput, LoanNotFound
from servicing.notices import Phrases, notify_borrower
from servicing.speaking import say
from servicing.store.models import Case, Loan, Message

# What the borrower reads, in their language (locales/<locale>/LC_MESSAGES/bot.po).
ACKNOWLEDGED = say("We received your request {reference} and are looking into it. We will answer by {due}.")
EXTENDED = say("We need more time to look into your request {reference}: {reason}. We will answer by {due}.")
ERROR_CORRECTED = say("We looked into the error you reported ({reference}), found it and corrected it.")
NO_ERROR_FOUND = say(
    "We looked into the error you reported ({reference}) and found no error: {reason}. "
    "You may ask us for the documents we relied on."
)
INFORMATION_ANSWERED = say("We answered your request for information {reference}.")
PAYOFF_STATEMENT_SENT = say("We sent your payoff statement ({reference}).")
APPLICATION_COMPLETE = say("Your assistance application {reference} is complete. We will decide by {due}.")
APPLICATION_INCOMPLETE = say(
    "Your assistance application {reference} is missing: {documents}. Please send them by {send_by} so that we can "
    "review it."
)
APPLICATION_APPROVED = say(
    "Your assistance application {reference} was approved. We will send you the new terms; you may accept them "
    "until {accept_by}."
)
APPLICATION_DENIED = say(
    "Your assistance application {reference} was not approved: {reason}. You may appeal until {until}."
)
APPEAL_DENIED = say("Your appeal on assistance application {reference} was not approved: {reason}.")

DENIAL_REASONS = {
    "income": say("your income does not support a modified payment"),
    "documents": say("we did not receive the documents we needed in time"),
    "investor": say("the owner of your loan does not allow this option"),
}
EXTENSION_REASONS = {  # Reg X 1024.35(e)(3)(ii), 1024.36(d)(2)(ii): the borrower is told why
    "third_party": say("we are waiting for records from another company"),
    "research": say("the research your request needs is not finished"),
    "documents": say("we are waiting for documents from you"),
}
NO_ERROR_REASONS = {
    "terms": say("the charge follows the terms of your loan agreement"),
    "applied": say("your payment was applied as your loan agreement requires"),
    "late": say("the payment arrived after its due date"),
}
MISSING_DOCUMENTS = {
    "income": say("proof of income"),
    "hardship": say("a letter explaining your hardship"),
    "bank": say("your last two bank statements"),
    "tax": say("your latest tax return"),
}
ERROR_OUTCOMES = ("corrected", "no_error")
NOTE_LENGTH = 500
MIN_ACCEPTANCE_DAYS = 7  # when Reg X requires none (a sale 37 days away or less), the servicer still gives 7


@dataclass(frozen=True)
class Decision:
    """A decision taken: the case as it now stands and the notice queued to the borrower (None if none)."""

    case: Case
    notice: Message | None


WRITTEN_REQUEST_KINDS = (CaseKind.NOTICE_OF_ERROR, CaseKind.REQUEST_FOR_INFORMATION)


def record_written_request(
    session: Session,
    loan_number: str,
    kind: CaseKind | str,
    topic: Topic | str,
    *,
    received_on: date,
    summary: str,
    country: str,
    actor: str,
) -> Case:
    """Open a notice of error or information request a borrower sent by mail or phone, as the bot would.

    Its clocks run from the day it was received (Reg X 1024.35(d), 1024.36(c)), not the day it is keyed in.
    """
    chosen = CaseKind(kind) if kind in {k.value for k in WRITTEN_REQUEST_KINDS} else None
    if chosen is None:
        raise InvalidInput(f"a specialist records a notice of error or an information request, not {kind!r}")
    if not summary.strip():
        raise InvalidInput("say what the borrower wrote")
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        raise LoanNotFound(loan_number)
    return open_case(
        session, chosen, opened_on=received_on, country=country, source="console", actor=actor, loan_id=loan.id,
        borrower_id=loan.borrower_id, summary=summary.strip(), topic=topic,
    )  # fmt: skip


def acknowledge_case(
    session: Session,
    reference: str,
    *,
    on: date,
    now: datetime,
    actor: str,
    note: str,
    letters: Correspondence | None = None,
) -> Decision:
    """Acknowledge a notice of error or an information request and tell the borrower when they will hear."""
    case = _case_of(session, reference, note, CaseKind.NOTICE_OF_ERROR, CaseKind.REQUEST_FOR_INFORMATION)
    meet_deadline(session, reference, "acknowledge", on, actor)
    if letters is not None:
        request_acknowledgement(session, letters, case, on=on, actor=actor)
    answer = _next_due(case)
    notice = _tell(session, case, ACKNOWLEDGED, now, due=answer) if answer else None
    return _decided(session, case, "acknowledged", actor, note, notice)


def extend_case(
    session: Session, reference: str, reason: str, *, country: str, on: date, now: datetime, actor: str, note: str
) -> Decision:
    """Take the one 15-business-day extension on a notice of error or information request, telling the borrower why."""
    case = _case_of(session, reference, note, CaseKind.NOTICE_OF_ERROR, CaseKind.REQUEST_FOR_INFORMATION)
    if reason not in EXTENSION_REASONS:
        raise InvalidInput("say why the extension is needed")
    extend_resolution(session, reference, country, actor, on=on, reason=reason)
    deadline = open_deadline(case, "resolve") or open_deadline(case, "answer")
    why = Phrases((EXTENSION_REASONS[reason],))
    notice = _tell(session, case, EXTENDED, now, due=deadline.due_on, reason=why) if deadline else None
    return _decided(session, case, "extended", actor, note, notice, reason=reason)


def resolve_notice_of_error(
    session: Session,
    reference: str,
    outcome: str,
    *,
    reason: str = "",
    on: date,
    now: datetime,
    actor: str,
    note: str,
    reply: str = "",
    letters: Correspondence | None = None,
) -> Decision:
    """Close a notice of error: the error was found and corrected, or there was none (with the reason why).

    `reply` is what the borrower reads in the response letter about what was corrected, or why (the note stays
    internal).
    """
    case = _case_of(session, reference, note, CaseKind.NOTICE_OF_ERROR)
    if outcome not in ERROR_OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r}")
    if outcome == "no_error" and reason not in NO_ERROR_REASONS:
        raise InvalidInput("say why there was no error")
    _refuse_long_reply(reply)
    close_case(session, reference, on, actor, outcome)
    if letters is not None:
        error_response(session, letters, case, outcome, reason=reason, reply=reply, on=on, actor=actor)
    if outcome == "corrected":
        notice = _tell(session, case, ERROR_CORRECTED, now)
    else:
        notice = _tell(session, case, NO_ERROR_FOUND, now, reason=Phrases((NO_ERROR_REASONS[reason],)))
    return _decided(session, case, outcome, actor, note, notice, reason=reason or None)


def answer_information_request(
    session: Session,
    reference: str,
    *,
    on: date,
    now: datetime,
    actor: str,
    note: str,
    reply: str = "",
    letters: Correspondence | None = None,
) -> Decision:
    """Close an information request as answered and tell the borrower; `reply` is the answer the letter prints."""
    case = _case_of(session, reference, note, CaseKind.REQUEST_FOR_INFORMATION)
    _refuse_long_reply(reply)
    close_case(session, reference, on, actor, "answered")
    if letters is not None:
        information_response(session, letters, case, reply=reply, on=on, actor=actor)
    return _decided(session, case, "answered", actor, note, _tell(session, case, INFORMATION_ANSWERED, now))


def record_payoff_statement_sent(
    session: Session,
    reference: str,
    *,
    on: date,
    now: datetime,
    actor: str,
    note: str,
    letters: Correspondence | None = None,
) -> Decision:
    """Record that the payoff statement went out, meeting its 7-business-day clock, and tell the borrower.

    With `letters`, the statement is made now unless the request already made it.
    """
    case = _case_of(session, reference, note, CaseKind.PAYOFF_REQUEST)
    if letters is not None:
        payoff_statement_for_request(session, letters, case, on=on, actor=actor)
    close_case(session, reference, on, actor, "statement_sent")
    return _decided(session, case, "statement_sent", actor, note, _tell(session, case, PAYOFF_STATEMENT_SENT, now))


def mark_application_complete(
    session: Session,
    reference: str,
    *,
    on: date,
    now: datetime,
    actor: str,
    note: str,
    received_on: date | None = None,
    letters: Correspondence | None = None,
) -> Decision:
    """Tell the borrower their loss-mitigation application is complete (Reg X 1024.41(c)(3)).

    `received_on` is the day the last document arrived (default: today): the 30-day decision clock runs
    from it, the notice was due within 5 business days of it, and the protections it earns depend on how
    long before a scheduled sale it was.
    """
    case = _case_of(session, reference, note, CaseKind.LOSS_MITIGATION)
    received = received_on or on
    if received > on:
        raise InvalidInput("an application cannot be complete on a day still to come")
    move_loss_mitigation(session, reference, "submitted_complete", received, actor)
    record_complete_notice(session, case, received, on)
    protections = Protections.of(received, _sale_on(session, case))
    case.data = {**case.data, "complete_since": received.isoformat(), "protections": asdict(protections)}
    decision = open_deadline(case, "decision")
    notice = _tell(session, case, APPLICATION_COMPLETE, now, due=decision.due_on) if decision else None
    if letters is not None:
        application_complete_notice(session, letters, case, on=on, actor=actor)
    return _decided(session, case, "complete", actor, note, notice)


def mark_application_incomplete(
    session: Session,
    reference: str,
    missing: Sequence[str],
    *,
    on: date,
    now: datetime,
    actor: str,
    note: str,
    letters: Correspondence | None = None,
) -> Decision:
    """Tell the borrower which documents their loss-mitigation application still lacks."""
    case = _case_of(session, reference, note, CaseKind.LOSS_MITIGATION)
    documents = [name for name in MISSING_DOCUMENTS if name in set(missing)]
    if not documents or len(documents) != len(set(missing)):
        raise InvalidInput("list the missing documents")
    move_loss_mitigation(session, reference, "submitted_incomplete", on, actor)
    loan = session.get(Loan, case.loan_id) if case.loan_id else None
    delinquent_since = loan.next_due_date if loan is not None and loan.next_due_date < on else None
    send_by = documents_due(on, delinquent_since, loan.foreclosure_sale_on if loan else None)
    case.data = {**case.data, "missing_documents": documents, "documents_due": send_by.isoformat()}
    phrases = Phrases(tuple(MISSING_DOCUMENTS[name] for name in documents))
    notice = _tell(session, case, APPLICATION_INCOMPLETE, now, documents=phrases, send_by=send_by)
    if letters is not None:
        application_acknowledgement(session, letters, case, on=on, actor=actor)
    return _decided(session, case, "incomplete", actor, note, notice, missing=documents, send_by=send_by.isoformat())


def approve_application(
    session: Session,
    reference: str,
    *,
    on: date,
    now: datetime,
    actor: str,
    note: str,
    letters: Correspondence | None = None,
) -> Decision:
    """Approve a complete loss-mitigation application (or an appeal) and tell the borrower."""
    case = _case_of(session, reference, note, CaseKind.LOSS_MITIGATION)
    _refuse_the_denier_on_appeal(case, actor)
    _start_review(session, case, on, actor)
    move_loss_mitigation(session, reference, "approved", on, actor)
    days = case.data.get("protections", {}).get("acceptance_days") or MIN_ACCEPTANCE_DAYS
    accept_by = on + timedelta(days=days)  # Reg X 1024.41(e)(1)
    case.data = {**case.data, "accept_by": accept_by.isoformat()}
    notice = _tell(session, case, APPLICATION_APPROVED, now, accept_by=accept_by)
    if letters is not None:
        offer_notice(session, letters, case, on=on, actor=actor)
    return _decided(session, case, "approved", actor, note, notice, accept_by=accept_by.isoformat())


def _sale_on(session: Session, case: Case) -> date | None:
    loan = session.get(Loan, case.loan_id) if case.loan_id else None
    return loan.foreclosure_sale_on if loan is not None else None


def deny_application(
    session: Session,
    reference: str,
    reason: str,
    *,
    on: date,
    now: datetime,
    actor: str,
    note: str,
    letters: Correspondence | None = None,
) -> Decision:
    """Deny a complete application (the borrower may appeal for 14 days) or an appeal (final), with the reason."""
    case = _case_of(session, reference, note, CaseKind.LOSS_MITIGATION)
    if reason not in DENIAL_REASONS:
        raise InvalidInput("say why the application is denied")
    spoken_reason = Phrases((DENIAL_REASONS[reason],))
    _refuse_the_denier_on_appeal(case, actor)
    if case.status == "appealed":
        move_loss_mitigation(session, reference, "denied_final", on, actor)
        notice = _tell(session, case, APPEAL_DENIED, now, reason=spoken_reason)
        _denial_letter(session, letters, case, reason, on, actor)
        return _decided(session, case, "appeal_denied", actor, note, notice, reason=reason)
    _start_review(session, case, on, actor)
    move_loss_mitigation(session, reference, "denied", on, actor)
    case.data = {**case.data, "denied_by": actor}
    appeal = open_deadline(case, "appeal_window")
    until = appeal.due_on if appeal else on
    notice = _tell(session, case, APPLICATION_DENIED, now, reason=spoken_reason, until=until)
    _denial_letter(session, letters, case, reason, on, actor)
    return _decided(session, case, "denied", actor, note, notice, reason=reason)


def _denial_letter(
    session: Session, letters: Correspondence | None, case: Case, reason: str, on: date, actor: str
) -> None:
    if letters is not None:
        denial_notice(session, letters, case, reason, on=on, actor=actor)


def record_appeal(session: Session, reference: str, *, on: date, actor: str, note: str) -> Decision:
    """Record the borrower's appeal of a denial, made within its 14 days, starting the 30-day decision clock."""
    case = _case_of(session, reference, note, CaseKind.LOSS_MITIGATION)
    if case.data.get("protections", {}).get("appealable") is False:
        raise InvalidInput("an application completed fewer than 90 days before the sale has no appeal (1024.41(h)(1))")
    window = open_deadline(case, "appeal_window")
    if window is not None and on > window.due_on:
        raise InvalidInput(f"the appeal window closed on {window.due_on.isoformat()} (Reg X 1024.41(h)(2))")
    move_loss_mitigation(session, reference, "appealed", on, actor)
    return _decided(session, case, "appealed", actor, note, None)


def _refuse_the_denier_on_appeal(case: Case, actor: str) -> None:
    """Refuse an appeal decided by the specialist who denied the application (Reg X 1024.41(h)(3))."""
    if case.status == "appealed" and case.data.get("denied_by") == actor:
        raise InvalidInput("an appeal is decided by someone other than the specialist who denied the application")


def record_live_contact(session: Session, reference: str, *, on: date, actor: str, note: str) -> Decision:
    """Record the live contact (or good-faith attempt) an early-intervention task requires by day 36."""
    return _early_intervention_step(session, reference, "live_contact", on, actor, note)


def record_written_notice(
    session: Session, reference: str, *, on: date, actor: str, note: str, letters: Correspondence | None = None
) -> Decision:
    """Record the written early-intervention notice sent by day 45 of the delinquency.

    With `letters`, the notice (Reg X 1024.39(b)(2)) is made as the one sent, unless end of day made it already.
    """
    if letters is None:
        return _early_intervention_step(session, reference, "written_notice", on, actor, note)
    case = _case_of(session, reference, note, CaseKind.EARLY_INTERVENTION)
    if open_deadline(case, "written_notice") is None:
        raise InvalidInput(f"case {reference} has no open deadline 'written_notice'")
    early_intervention_notice(session, letters, case, on=on, actor=actor)  # meets it; the task closes when done
    return _decided(session, case, "written_notice", actor, note, None)


def record_arrears_information_sent(session: Session, reference: str, *, on: date, actor: str, note: str) -> Decision:
    """Record that a UK borrower in arrears was sent the MCOB 13.4.1R information; the task closes."""
    case = _case_of(session, reference, note, CaseKind.ARREARS_INFORMATION)
    meet_deadline(session, reference, "send_information", on, actor)
    close_case(session, reference, on, actor, "done")
    return _decided(session, case, "arrears_information_sent", actor, note, None)


def record_promise_follow_up(session: Session, reference: str, *, on: date, actor: str, note: str) -> Decision:
    """Record that a specialist followed up a broken promise to pay (reached or tried the borrower); the task closes."""
    case = _case_of(session, reference, note, CaseKind.BROKEN_PROMISE)
    meet_deadline(session, reference, "follow_up", on, actor)
    close_case(session, reference, on, actor, "followed_up")
    return _decided(session, case, "promise_follow_up", actor, note, None)


def _early_intervention_step(session: Session, reference: str, step: str, on: date, actor: str, note: str) -> Decision:
    case = _case_of(session, reference, note, CaseKind.EARLY_INTERVENTION)
    meet_deadline(session, reference, step, on, actor)
    if all(d.met_on is not None for d in case.deadlines):
        close_case(session, reference, on, actor, "done")
    return _decided(session, case, step, actor, note, None)


def confirm_case_identity(session: Session, reference: str, *, actor: str, note: str) -> Decision:
    """Confirm that a case opened before verification came from the borrower it is linked to."""
    case = _unconfirmed_case(session, reference, note)
    case.data = {**case.data, "identity": CaseIdentity.CONFIRMED.value}
    return _decided(session, case, "confirm_identity", actor, note, None)


def reject_case_identity(session: Session, reference: str, *, actor: str, note: str) -> Decision:
    """Record that a case opened before verification did not come from the linked borrower, and unlink it."""
    case = _unconfirmed_case(session, reference, note)
    unlinked = {"borrower_id": case.borrower_id, "loan_id": case.loan_id}
    case.borrower_id, case.loan_id = None, None
    case.data = {**case.data, "identity": CaseIdentity.NOT_THE_BORROWER.value}
    return _decided(session, case, "not_the_borrower", actor, note, None, unlinked=unlinked)


def _unconfirmed_case(session: Session, reference: str, note: str) -> Case:
    if not note.strip():
        raise InvalidInput("a decision needs a note")
    case = get_case(session, reference)
    if not identity_unconfirmed(case):
        raise InvalidInput(f"case {reference} has no identity to confirm")
    return case


def _start_review(session: Session, case: Case, on: date, actor: str) -> None:
    if case.status == "submitted_complete":
        move_loss_mitigation(session, case.reference, "under_review", on, actor)


def _case_of(session: Session, reference: str, note: str, *kinds: CaseKind) -> Case:
    if not note.strip():
        raise InvalidInput("a decision needs a note")
    case = get_case(session, reference)
    if case.kind not in {kind.value for kind in kinds}:
        raise InvalidInput(f"case {reference} is not a {' or '.join(k.value.replace('_', ' ') for k in kinds)}")
    if case.closed_on is not None:
        raise InvalidInput(f"case {reference} is closed")
    if identity_unconfirmed(case):
        raise InvalidInput(f"case {reference} was opened before verification: confirm the borrower's identity first")
    return case


REPLY_LENGTH = 2000  # what a response letter prints of the specialist's answer


def _refuse_long_reply(reply: str) -> None:
    if len(reply.strip()) > REPLY_LENGTH:
        raise InvalidInput(f"the answer to the borrower is longer than {REPLY_LENGTH} characters")


def _next_due(case: Case) -> date | None:
    return min((d.due_on for d in case.deadlines if d.met_on is None), default=None)


def _tell(session: Session, case: Case, message: str, now: datetime, **values: Any) -> Message | None:
    """Queue a notice about the case to its loan's borrower; None when the case has no loan or no channel."""
    if case.loan_id is None:
        return None
    loan = session.get_one(Loan, case.loan_id)
    return notify_borrower(session, loan, message, now=now, reference=case.reference, **values)


def _decided(
    session: Session, case: Case, decision: str, actor: str, note: str, notice: Message | None, **detail: Any
) -> Decision:
    record_audit(session, actor, "case.decision", "case", case.reference,
                 {"decision": decision, "note": note.strip()[:NOTE_LENGTH], "notice": notice.id if notice else None,
                  **detail})  # fmt: skip
    return Decision(case, notice)
