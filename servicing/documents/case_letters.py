"""The letters a case's decisions send: notices of error, information requests and loss-mitigation applications.

Each is made by the decision that owes it (`servicing.decisions`), for the case's reference (its period), so
deciding again, or a second path to the same event, finds the letter on file:

- notice of error / information request: acknowledgement (Reg X 1024.35(d), 1024.36(c)) and the response
  (1024.35(e)(1), 1024.36(d)(1));
- loss mitigation: the acknowledgement of an incomplete application with the missing documents and the date to
  send them (1024.41(b)(2)(i)(B)), the complete-application notice (1024.41(c)(3)), the denial with the reason
  for each option reviewed and the appeal rights (1024.41(d), (h)), and the offer with its terms and the date to
  accept it (1024.41(e)).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.cases import CaseKind, open_deadline
from servicing.documents.correspondence import Correspondence
from servicing.documents.letters import APPLICATION_DOCUMENTS, keep_letter, money_summary
from servicing.documents.records import existing_document
from servicing.documents.wording import wording
from servicing.errors import ServicingError
from servicing.queries import loan_summary, require_account
from servicing.rules.workouts import WorkoutKind, modification_waterfall
from servicing.store.models import AuditEntry, Case, CaseDeadline, Document, Loan, Workout

ERROR_ACKNOWLEDGEMENT, INFORMATION_ACKNOWLEDGEMENT = "error_acknowledgement", "information_acknowledgement"
ERROR_RESPONSE, INFORMATION_RESPONSE = "error_response", "information_response"
LM_ACKNOWLEDGEMENT, LM_COMPLETE, LM_DENIAL, LM_OFFER = "lm_acknowledgement", "lm_complete", "lm_denial", "lm_offer"
ACKNOWLEDGEMENTS = {
    CaseKind.NOTICE_OF_ERROR.value: ERROR_ACKNOWLEDGEMENT,
    CaseKind.REQUEST_FOR_INFORMATION.value: INFORMATION_ACKNOWLEDGEMENT,
}

# The reasons `servicing.decisions` gives (its DENIAL_REASONS and NO_ERROR_REASONS, which the bot says), worded
# for the documents catalogs; tests/unit/test_letter_wording.py keeps the keys the same.
DENIAL_REASONS = {
    "income": wording("your income does not support a modified payment"),
    "documents": wording("we did not receive the documents we needed in time"),
    "investor": wording("the owner of your loan does not allow this option"),
}
NO_ERROR_REASONS = {
    "terms": wording("the charge follows the terms of your loan agreement"),
    "applied": wording("your payment was applied as your loan agreement requires"),
    "late": wording("the payment arrived after its due date"),
}
OPTION_NAMES = {
    WorkoutKind.FORBEARANCE.value: wording("Forbearance"),
    WorkoutKind.REPAYMENT_PLAN.value: wording("Repayment plan"),
    WorkoutKind.PAYMENT_DEFERRAL.value: wording("Payment deferral"),
    WorkoutKind.MODIFICATION.value: wording("Loan modification"),
}


# -- notices of error and information requests ---------------------------------------------------------------


def request_acknowledgement(
    session: Session, letters: Correspondence, case: Case, *, on: date, actor: str
) -> Document | None:
    """Acknowledge a notice of error or information request in writing, with the date it will be answered by."""
    kind = ACKNOWLEDGEMENTS[case.kind]
    loan = _case_loan(session, case)
    if loan is None:
        return None
    if (found := existing_document(session, kind, loan.id, case.reference)) is not None:
        return found
    answer_by = _due(case, "resolve", "answer")
    values = {"request": _request(case), "answer_by": answer_by}
    return keep_letter(session, letters, loan, kind=kind, period=case.reference, values=values, on=on, actor=actor,
                       summary=money_summary(case=case.reference, answer_by=answer_by))  # fmt: skip


def error_response(
    session: Session, letters: Correspondence, case: Case, outcome: str, *, reason: str, reply: str, on: date,
    actor: str,
) -> Document | None:  # fmt: skip
    """Write the result of a notice of error: corrected, and when; or no error, why, and the right to the documents."""
    loan = _case_loan(session, case)
    if loan is None:
        return None
    if (found := existing_document(session, ERROR_RESPONSE, loan.id, case.reference)) is not None:
        return found
    values = {
        "request": _request(case),
        "outcome": outcome,
        "reason": NO_ERROR_REASONS.get(reason),
        "reply": reply.strip(),
        "resolved_on": on,
    }
    return keep_letter(session, letters, loan, kind=ERROR_RESPONSE, period=case.reference, values=values, on=on,
                       actor=actor, summary=money_summary(case=case.reference, outcome=outcome))  # fmt: skip


def information_response(
    session: Session, letters: Correspondence, case: Case, *, reply: str, on: date, actor: str
) -> Document | None:
    """Write the answer to an information request, with the loan's figures on the day it is answered."""
    loan = _case_loan(session, case)
    if loan is None:
        return None
    if (found := existing_document(session, INFORMATION_RESPONSE, loan.id, case.reference)) is not None:
        return found
    values = {
        "request": _request(case),
        "reply": reply.strip(),
        "account": loan_summary(session, loan.loan_number, on, today=on),
        "annual_rate": loan.annual_rate,
    }
    return keep_letter(session, letters, loan, kind=INFORMATION_RESPONSE, period=case.reference, values=values,
                       on=on, actor=actor, summary=money_summary(case=case.reference))  # fmt: skip


def _request(case: Case) -> dict[str, Any]:
    return {"reference": case.reference, "received_on": case.opened_on, "summary": case.summary}


# -- loss-mitigation applications ----------------------------------------------------------------------------


def application_acknowledgement(
    session: Session, letters: Correspondence, case: Case, *, on: date, actor: str
) -> Document | None:
    """Acknowledge an incomplete application: the documents still missing and the date to send them by."""
    loan = _case_loan(session, case)
    if loan is None:
        return None
    if (found := existing_document(session, LM_ACKNOWLEDGEMENT, loan.id, case.reference)) is not None:
        return found
    missing = [APPLICATION_DOCUMENTS[name] for name in case.data.get("missing_documents", ())]
    send_by = date.fromisoformat(case.data["documents_due"])
    values = {"application": {"reference": case.reference, "received_on": case.opened_on}, "missing": missing,
              "send_by": send_by}  # fmt: skip
    return keep_letter(session, letters, loan, kind=LM_ACKNOWLEDGEMENT, period=case.reference, values=values, on=on,
                       actor=actor, summary=money_summary(case=case.reference, documents_due=send_by))  # fmt: skip


def application_complete_notice(
    session: Session, letters: Correspondence, case: Case, *, on: date, actor: str
) -> Document | None:
    """Tell the borrower the application is complete (Reg X 1024.41(c)(3)): since when, decision date, protections."""
    loan = _case_loan(session, case)
    if loan is None:
        return None
    if (found := existing_document(session, LM_COMPLETE, loan.id, case.reference)) is not None:
        return found
    complete_since = date.fromisoformat(case.data["complete_since"])
    protections = case.data.get("protections", {})
    decide_by = _due(case, "decision")
    values = {
        "application": {"reference": case.reference, "received_on": case.opened_on},
        "complete_since": complete_since,
        "decide_by": decide_by,
        "protected": protections.get("evaluated_and_no_sale", True),
        "referred": loan.foreclosure_referred_on is not None,
        "sale_on": loan.foreclosure_sale_on,
    }
    return keep_letter(session, letters, loan, kind=LM_COMPLETE, period=case.reference, values=values, on=on,
                       actor=actor, summary=money_summary(case=case.reference, complete_since=complete_since,
                                                          decide_by=decide_by))  # fmt: skip


def denial_notice(
    session: Session, letters: Correspondence, case: Case, reason: str, *, on: date, actor: str
) -> Document | None:
    """Write a denial: the reason for each option reviewed, and the appeal rights with their deadline, or none.

    A denial after an appeal (`denied_final`) is final and is its own letter (period `<reference>:appeal`).
    """
    final = case.status == "denied_final"
    period = f"{case.reference}:appeal" if final else case.reference
    loan = _case_loan(session, case)
    if loan is None:
        return None
    if (found := existing_document(session, LM_DENIAL, loan.id, period)) is not None:
        return found
    window = open_deadline(case, "appeal_window")
    appealable = not final and case.data.get("protections", {}).get("appealable", True) and window is not None
    appeal_by = window.due_on if appealable and window is not None else None
    values = {
        "application": {"reference": case.reference, "received_on": case.opened_on},
        "final": final,
        "reason": DENIAL_REASONS[reason],
        "investor": reason == "investor",
        "options": _options_denied(session, loan, case, on),
        "appeal_by": appeal_by,
        "sale_on": loan.foreclosure_sale_on,
    }
    return keep_letter(session, letters, loan, kind=LM_DENIAL, period=period, values=values, on=on, actor=actor,
                       summary=money_summary(case=case.reference, reason=reason, appeal_by=appeal_by))  # fmt: skip


def offer_notice(
    session: Session, letters: Correspondence, case: Case, *, on: date, actor: str, workout: Workout | None = None
) -> Document | None:
    """Write an approval: the terms of the options approved on the case and the date to accept them by.

    Made when the application is approved, with the terms of the workouts already booked on its case, and
    again for a workout booked on an approved case afterwards (period `<reference>:workout:<id>`).
    """
    period = case.reference if workout is None else f"{case.reference}:workout:{workout.id}"
    loan = _case_loan(session, case)
    if loan is None or "accept_by" not in case.data:
        return None
    if (found := existing_document(session, LM_OFFER, loan.id, period)) is not None:
        return found
    accept_by = date.fromisoformat(case.data["accept_by"])
    workouts = [workout] if workout is not None else _workouts_of(session, case)
    values = {
        "application": {"reference": case.reference, "received_on": case.opened_on},
        "after_appeal": bool(case.data.get("denied_by")),
        "options": [_terms(w) for w in workouts],
        "accept_by": accept_by,
    }
    return keep_letter(session, letters, loan, kind=LM_OFFER, period=period, values=values, on=on, actor=actor,
                       summary=money_summary(case=case.reference, accept_by=accept_by,
                                             options=",".join(w.kind for w in workouts)))  # fmt: skip


def _options_denied(session: Session, loan: Loan, case: Case, on: date) -> list[dict[str, Any]]:
    """Return each option denied on the case's loan for this case (`workouts.deny_workout`), with its reason.

    A loan modification carries the figures it was evaluated on: principal, rate, the payment and the
    payment a modification must reach, from the core's modification waterfall.
    """
    decisions = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "workout.decision",
            AuditEntry.subject_type == "loan",
            AuditEntry.subject_id == loan.loan_number,
        )
        .order_by(AuditEntry.id)
    ).all()
    options: dict[str, dict[str, Any]] = {}
    for entry in decisions:
        detail = entry.detail
        if detail.get("case") == case.reference and detail.get("decision") == "denied":
            options[detail["kind"]] = {"name": OPTION_NAMES[detail["kind"]], "reason": detail.get("reason", ""),
                                       "inputs": None}  # fmt: skip
    if WorkoutKind.MODIFICATION.value in options:
        options[WorkoutKind.MODIFICATION.value]["inputs"] = _modification_inputs(session, loan, on)
    return list(options.values())


def _modification_inputs(session: Session, loan: Loan, on: date) -> dict[str, Any] | None:
    account = require_account(session, loan.loan_number)
    try:
        plan = modification_waterfall(account, account.annual_rate, on)
    except ServicingError:
        return None
    return {"principal": plan.principal_before, "annual_rate": account.annual_rate, "payment": plan.payment_before,
            "target_payment": plan.target_payment}  # fmt: skip


def _workouts_of(session: Session, case: Case) -> list[Workout]:
    return list(session.scalars(select(Workout).where(Workout.case_id == case.id).order_by(Workout.id)))


def _terms(workout: Workout) -> dict[str, Any]:
    """Return a workout's terms as the offer prints them: its kind's figures, money as Decimal, dates as dates."""
    terms = workout.terms
    kind = workout.kind
    shown: dict[str, Any] = {"kind": kind, "name": OPTION_NAMES[kind], "starts_on": workout.starts_on}
    if kind == WorkoutKind.FORBEARANCE.value:
        shown |= {"ends_on": date.fromisoformat(terms["planned_ends_on"]),
                  "reduced_payment": Decimal(terms["reduced_payment"]),
                  "regular_payment": Decimal(terms["regular_payment"]),
                  "projected_arrears": Decimal(terms["projected_arrears"])}  # fmt: skip
    elif kind == WorkoutKind.REPAYMENT_PLAN.value:
        shown |= {"arrears": Decimal(terms["arrears"]), "lines": [
            {"due_date": date.fromisoformat(line["due_date"]), "regular_payment": Decimal(line["regular_payment"]),
             "arrears_share": Decimal(line["arrears_share"]), "total": Decimal(line["total"])}
            for line in terms["lines"]
        ]}  # fmt: skip
    elif kind == WorkoutKind.PAYMENT_DEFERRAL.value:
        shown |= {"deferred": Decimal(terms["deferred"]), "installments": len(terms["installments"])}
    else:
        final = terms["steps"][-1]
        shown |= {"annual_rate": Decimal(final["annual_rate"]), "term_months": final["term_months"],
                  "payment": Decimal(final["payment"]), "payment_before": Decimal(terms["payment_before"]),
                  "first_due_date": date.fromisoformat(terms["first_due_date"]),
                  "capitalized": Decimal(terms["capitalized_interest"]) + Decimal(terms["capitalized_escrow_advance"]),
                  "forborne": Decimal(final["forborne"])}  # fmt: skip
    return shown


# -- common --------------------------------------------------------------------------------------------------


def _case_loan(session: Session, case: Case) -> Loan | None:
    """Return the loan a case is about; a case without one gets no letter."""
    return session.get_one(Loan, case.loan_id) if case.loan_id is not None else None


def _due(case: Case, *names: str) -> date | None:
    """Return the due date of the case's first open deadline of these names."""
    deadlines: list[CaseDeadline] = [d for d in case.deadlines if d.name in names and d.met_on is None]
    return min((d.due_on for d in deadlines), default=None)
