"""A loan's ACH: bank accounts on file (masked), autopay (enrol, stop), drafts and returns.

Every action is a POST form handled like the loan page's (`console.loans.run_action`): one core use case in one
transaction, audited by the core, a refusal flashed with nothing changed. Account numbers are typed here once
and never shown again: the page shows the last 4 digits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from console.ach.forms import AutopayForm, BankAccountForm, RemoveAccountForm, StopAutopayForm
from console.arguments import servicer_today, settings
from console.loans import run_action
from console.security import audits_view, requires_role, sessions, user
from servicing.ach.accounts import add_bank_account, bank_accounts, check_bank_details, remove_bank_account
from servicing.ach.autopay import (
    AmountKind,
    AutopayRefused,
    AutopayTerms,
    autopay_history,
    autopay_offer,
    enrol_autopay,
    stop_autopay,
)
from servicing.ach.vault import Vault
from servicing.errors import InvalidInput, LoanNotFound
from servicing.notices import notice_needs_confirmation
from servicing.queries import current_date
from servicing.rules.money import parse_amount
from servicing.specialists import Role
from servicing.store.models import AchDraft, AchReturn, Loan

bp = Blueprint("ach", __name__, url_prefix="/console/loans")
ACH_ROLE = Role.SPECIALIST  # a bank account and autopay are the borrower's requests: a specialist's daily work


def vault() -> Vault:
    """Return the vault of this deployment's data keys."""
    return Vault(settings().data_keys)


def terms_of(form: AutopayForm) -> AutopayTerms:
    """Return the autopay terms a form holds (amounts already checked as plain decimals)."""
    kind = AmountKind(form.amount_kind.data or "due")
    fixed = parse_amount(form.fixed_amount.data) if form.fixed_amount.data else None
    extra = parse_amount(form.extra_principal.data) if form.extra_principal.data else Decimal(0)
    return AutopayTerms(kind, fixed if kind is AmountKind.FIXED else None,
                        extra if kind is AmountKind.DUE_PLUS else Decimal(0), form.days_before.data or 0)  # fmt: skip


def _preview(session: Session, loan_number: str, form: AutopayForm) -> tuple[str | None, str | None]:
    """Return the authorization text for the form's terms, or why autopay cannot be offered."""
    s = settings()
    try:
        offer = autopay_offer(session, loan_number, terms_of(form), servicer=s.servicer_name, phone=s.servicer_phone)
    except (AutopayRefused, InvalidInput) as refused:
        return None, str(refused)
    return offer.text, None


@bp.get("/<loan_number>/ach")
@requires_role(ACH_ROLE)
@audits_view("loan_ach", id_argument="loan_number")
def show(loan_number: str) -> str:
    """Show the loan's bank accounts, autopay with its authorization, drafts and returns."""
    form = AutopayForm(request.args, meta={"csrf": False})
    with sessions()() as session:
        loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
        if loan is None:
            abort(404)
        accounts = bank_accounts(session, loan_number)
        enrolments = autopay_history(session, loan_number)
        newest = (AchDraft.effective_date.desc(), AchDraft.id.desc())
        drafts = session.scalars(select(AchDraft).where(AchDraft.loan_id == loan.id).order_by(*newest).limit(50)).all()
        returns = session.scalars(select(AchReturn).join(AchDraft).where(AchDraft.loan_id == loan.id)
                                  .order_by(AchReturn.id.desc()).limit(50)).all()  # fmt: skip
        preview, refusal = _preview(session, loan_number, form)
        unverified = notice_needs_confirmation(session, loan_number, datetime.now(UTC))
    return render_template(
        "ach/loan.html", loan=loan, accounts=accounts, enrolments=enrolments, drafts=drafts, returns=returns,
        preview=preview, refusal=refusal, autopay_form=AutopayForm(request.args or None, meta={"csrf": True}),
        account_form=BankAccountForm(formdata=None), remove_form=RemoveAccountForm(formdata=None),
        stop_form=StopAutopayForm(formdata=None), notice_unverified=unverified,
    )  # fmt: skip


def _back(loan_number: str) -> str:
    return url_for("ach.show", loan_number=loan_number)


@bp.post("/<loan_number>/ach/accounts")
@requires_role(ACH_ROLE)
def add_account(loan_number: str) -> Response:
    """Put a bank account on file (replacing the active one)."""
    form = BankAccountForm()

    def add(session: Session) -> str:
        details = check_bank_details(form.routing.data or "", form.account_number.data or "",
                                     form.account_type.data or "")  # fmt: skip
        add_bank_account(session, loan_number, details, vault=vault(), actor=user().username)
        return str(_("Bank account %(account)s is on file.", account=details.masked))

    return run_action(loan_number, form, add, back_to=_back(loan_number))


@bp.post("/<loan_number>/ach/accounts/remove")
@requires_role(ACH_ROLE)
def remove_account(loan_number: str) -> Response:
    """Take the bank account off file."""
    form = RemoveAccountForm()

    def remove(session: Session) -> str:
        remove_bank_account(session, loan_number, actor=user().username, reason=form.reason.data or "")
        return str(_("The bank account is off file."))

    return run_action(loan_number, form, remove, back_to=_back(loan_number))


@bp.post("/<loan_number>/ach/autopay")
@requires_role(ACH_ROLE)
def enrol(loan_number: str) -> Response:
    """Record the borrower's autopay authorization and send them a copy."""
    form = AutopayForm()

    def record(session: Session) -> str:
        s, terms = settings(), terms_of(form)
        offer = autopay_offer(session, loan_number, terms, servicer=s.servicer_name, phone=s.servicer_phone)
        enrol_autopay(session, offer, terms, channel=form.channel.data or "", actor=user().username,
                      now=datetime.now(UTC), disclosure_confirmed=bool(form.confirm_disclosure.data))  # fmt: skip
        return str(_("Autopay is on; the borrower was sent a copy of the authorization."))

    return run_action(loan_number, form, record, back_to=_back(loan_number))


@bp.post("/<loan_number>/ach/autopay/stop")
@requires_role(ACH_ROLE)
def stop(loan_number: str) -> Response:
    """Stop autopay at the borrower's request (refused within 3 business days of a draft)."""
    form = StopAutopayForm()

    def stop_it(session: Session) -> str:
        try:
            stop_autopay(session, loan_number, today=current_date(session, servicer_today()),
                         country=settings().country, actor=user().username, reason=form.reason.data or "")  # fmt: skip
        except LoanNotFound:
            abort(404)
        return str(_("Autopay is stopped."))

    return run_action(loan_number, form, stop_it, back_to=_back(loan_number))
