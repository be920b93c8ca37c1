"""A loan: balances, schedule, ledger, escrow, cases, conversations, payoff and servicing actions.

Every action is a POST form with a reason; the view calls one core use case in one transaction (the use case
audits itself) and turns a refusal into a flashed message, so a refused action changes nothing.
Roles: see docs/console-loans.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from console.arguments import date_argument, page_argument, servicer_today, settings
from console.contact import FLAGS, contact_helpers, label
from console.explaining import explanation_helpers
from console.i18n import money
from console.loans.forms import (
    ClearContactFlagForm,
    ContactFlagForm,
    EndForbearanceForm,
    EscrowAnalysisForm,
    FeeWaiverForm,
    ForbearanceForm,
    ForeclosureReferralForm,
    ForeclosureSaleForm,
    ModificationForm,
    PaymentForm,
    PromiseCancelForm,
    PromiseForm,
    ReversalForm,
    WorkoutDecisionForm,
    WrittenRequestForm,
)
from console.loans.four_eyes import effect_helpers, flash_form_errors, money_action, refusal_message
from console.loans.labels import label_helpers
from console.loans.promises import promise_day, promises_section
from console.security import audits_view, requires_role, sessions, user
from servicing.approvals.actions import ActionKind
from servicing.approvals.requests import loan_requests
from servicing.decisions import record_written_request
from servicing.errors import LoanNotFound, ServicingError
from servicing.foreclosure import refer_to_foreclosure, schedule_foreclosure_sale
from servicing.loan_view import find_loans, loan_history, loan_page
from servicing.notices import notice_needs_confirmation
from servicing.outreach.flags import clear_contact_flag as clear_flag_on
from servicing.outreach.flags import loan_contact
from servicing.outreach.flags import set_contact_flag as set_flag_on
from servicing.outreach.promises import cancel_promise, make_promise
from servicing.queries import current_date, modification_preview, payoff_for, require_account
from servicing.rules.money import parse_rate
from servicing.rules.workouts import ModificationStepName, WorkoutKind
from servicing.specialists import Role
from servicing.store.models import Loan
from servicing.workouts import deny_workout, end_forbearance_for_reason

bp = Blueprint("loans", __name__, url_prefix="/console/loans")
bp.context_processor(contact_helpers)
bp.context_processor(explanation_helpers)
bp.context_processor(label_helpers)
bp.context_processor(effect_helpers)

# Who may do what (docs/console-loans.md): reading, payoff quotes and posting money received are a
# specialist's daily work. A specialist may also ask for a reversal, a fee waiver or a workout: the larger
# ones wait for a supervisor's approval (four eyes, servicing/approvals). Denials, ending a forbearance,
# foreclosure steps and escrow analyses stay a supervisor's.
READ_ROLE = Role.SPECIALIST
POST_PAYMENT_ROLE = Role.SPECIALIST
REQUEST_ROLE = Role.SPECIALIST  # a maker: asks for a reversal, a waiver or a workout; a checker approves
PROMISE_ROLE = Role.SPECIALIST  # recording and cancelling a borrower's promise to pay is collection work
DECISION_ROLE = Role.SUPERVISOR
FLAG_ROLE = Role.SPECIALIST  # a specialist records what the borrower or the record says; a supervisor clears it
STEP_NAMES = {
    ModificationStepName.CAPITALIZE_ARREARS.value: _l("Capitalize arrears"),
    ModificationStepName.REDUCE_RATE.value: _l("Lower the rate"),
    ModificationStepName.EXTEND_TERM.value: _l("Extend the term"),
    ModificationStepName.FORBEAR_PRINCIPAL.value: _l("Forbear principal"),
}
# The loan page's tabs, in order; the first is shown when none is asked. Each is a URL (?tab=): no script needed.
TABS = {
    "ledger": _l("Payments and ledger"),
    "schedule": _l("Schedule"),
    "escrow": _l("Escrow"),
    "cases": _l("Cases"),
    "workouts": _l("Workouts and foreclosure"),
    "conversations": _l("Conversations and contact"),
    "documents": _l("Mail and documents"),
    "audit": _l("History"),
}
# The tab an action goes back to.
TAB_OF = {
    "loans.post_payment": "ledger", "loans.reverse_payment": "ledger", "loans.waive_fee": "ledger",
    "loans.analyze_escrow": "escrow", "loans.record_request": "cases", "loans.refer": "workouts",
    "loans.schedule_sale": "workouts", "loans.place_forbearance": "workouts", "loans.end_forbearance": "workouts",
    "loans.workout_decision": "workouts", "loans.set_contact_flag": "conversations",
    "loans.clear_contact_flag": "conversations", "loans.record_promise": "conversations",
    "loans.cancel_loan_promise": "conversations",
}  # fmt: skip


def tab_argument() -> str:
    """Return the tab the page asks for (the first when none or an unknown one)."""
    tab = request.args.get("tab", "")
    return tab if tab in TABS else next(iter(TABS))


# -- pages ----------------------------------------------------------------------------------------------


@bp.get("/")
@requires_role(READ_ROLE)
@audits_view("loan_search")
def index() -> str:
    """Find a loan by its number or the borrower's last name."""
    query = request.args.get("q", "")
    with sessions()() as session:
        found = find_loans(session, query, page_argument("page"))
    return render_template("loans/index.html", found=found)


@bp.get("/<loan_number>")
@requires_role(READ_ROLE)
@audits_view("loan", id_argument="loan_number")
def show(loan_number: str) -> str:
    """Show a loan: a summary header with its flags, and one tab (ledger, schedule, escrow, cases...) at a time."""
    today, tab = servicer_today(), tab_argument()
    may_decide = user().role.includes(DECISION_ROLE)
    with sessions()() as session:
        try:
            view = loan_page(
                session, loan_number, today=today, ledger_page=page_argument("ledger_page"),
                schedule_page=page_argument("schedule_page"),
            )  # fmt: skip
        except LoanNotFound:
            abort(404)
        notice_unverified = notice_needs_confirmation(session, loan_number, datetime.now(UTC))
        mail_forms = mail.mail_context(session, loan_number) if tab == "documents" else {}
        promises = promises_section(session, loan_number, today)
        contact = loan_contact(session, loan_number)
        requests = loan_requests(session, loan_number)
        history = loan_history(session, loan_number, with_views=may_decide) if tab == "audit" else []
    payment_form = PaymentForm(formdata=None, received_on=view.as_of, reference=f"console-{uuid.uuid4().hex[:16]}")
    return render_template(
        "loans/show.html",
        view=view,
        tab=tab,
        tabs=TABS,
        payment_form=payment_form,
        reversal_form=ReversalForm(formdata=None),
        waiver_form=FeeWaiverForm(formdata=None),
        forbearance_form=ForbearanceForm(formdata=None, starts_on=view.as_of, months=3),
        end_forbearance_form=EndForbearanceForm(formdata=None),
        decision_form=WorkoutDecisionForm(formdata=None),
        request_form=WrittenRequestForm(formdata=None, received_on=view.as_of),
        referral_form=ForeclosureReferralForm(formdata=None, on=view.as_of),
        sale_form=ForeclosureSaleForm(formdata=None),
        escrow_analysis_form=EscrowAnalysisForm(formdata=None),
        may_decide=may_decide,
        notice_unverified=notice_unverified,
        **mail_forms,
        **promises,
        contact=contact,
        flag_form=ContactFlagForm(formdata=None),
        requests=requests,
        pending_requests=[r for r in requests if r.status == "pending"],
        history=history,
        waiver_threshold=settings().fee_waiver_approval_above,
    )


@bp.get("/<loan_number>/payoff")
@requires_role(READ_ROLE)
@audits_view("loan", id_argument="loan_number")
def payoff(loan_number: str) -> str | Response:
    """Quote the payoff good through a chosen date, with each component, the per diem and the escrow refund."""
    good_through = date_argument("good_through")
    with sessions()() as session:
        quote_date = current_date(session, servicer_today())
        if good_through is not None and good_through < quote_date:
            flash(_("A payoff is quoted good through a date on or after %(day)s.", day=quote_date.isoformat()), "error")
            good_through = None
        try:
            quote = payoff_for(session, loan_number, good_through, today=servicer_today())
        except LoanNotFound:
            abort(404)
        except ServicingError as refused:
            flash(_("Refused: %(reason)s", reason=str(refused)), "error")
            return redirect(url_for("loans.show", loan_number=loan_number))
    return render_template("loans/payoff.html", quote=quote, loan_number=loan_number)


@bp.get("/<loan_number>/modification")
@requires_role(READ_ROLE)
@audits_view("loan", id_argument="loan_number")
def modification(loan_number: str) -> str:
    """Work out the modification waterfall, showing each step's payment (nothing is booked)."""
    today = servicer_today()
    with sessions()() as session:
        try:
            account = require_account(session, loan_number)
        except LoanNotFound:
            abort(404)
        form = ModificationForm(request.args, meta={"csrf": False})
        if "rate" not in request.args:
            form.rate.data = str(account.annual_rate)
        plan, refusal, as_of = None, None, current_date(session, today)
        if form.validate():
            try:
                rate = parse_rate(form.rate.data or "")
                plan = modification_preview(session, loan_number, rate, as_of, today=today)
            except ServicingError as refused:
                refusal = str(refused)
    return render_template(
        "loans/modification.html", loan_number=loan_number, form=form, plan=plan, refusal=refusal,
        currency=account.currency, as_of=as_of, step_names=STEP_NAMES,
    )  # fmt: skip


# -- actions --------------------------------------------------------------------------------------------


def run_action(
    loan_number: str, form: FlaskForm, action: Callable[[Session], str], back_to: str | None = None
) -> Response:
    """Validate the form, run the use case in one transaction, flash what happened, go back to the loan.

    A form error or a core refusal is flashed and the transaction rolls back: nothing changes. `back_to` is
    the page to return to (the loan page's tab of the action unless given). Actions that move money go
    through `money_action` instead (a preview first).
    """
    tab = TAB_OF.get(request.endpoint or "", "documents")
    back = redirect(back_to or url_for("loans.show", loan_number=loan_number, tab=tab))
    if not form.validate_on_submit():
        flash_form_errors(form)
        return back
    try:
        with sessions().begin() as session:
            message = action(session)
    except ServicingError as refused:
        flash(refusal_message(refused), "error")
        return back
    flash(message, "success")
    return back


@bp.post("/<loan_number>/payments")
@requires_role(POST_PAYMENT_ROLE)
def post_payment(loan_number: str) -> Response | str:
    """Post a payment received for the loan, once per reference, after its allocation is previewed."""
    return money_action(loan_number, PaymentForm(), ActionKind.PAYMENT, "ledger")


@bp.post("/<loan_number>/payments/reverse")
@requires_role(REQUEST_ROLE)
def reverse_payment(loan_number: str) -> Response | str:
    """Preview reversing one of the loan's payments, then send the reversal for a supervisor's approval."""
    return money_action(loan_number, ReversalForm(), ActionKind.REVERSAL, "ledger")


@bp.post("/<loan_number>/cases")
@requires_role(POST_PAYMENT_ROLE)
def record_request(loan_number: str) -> Response:
    """Open a notice of error or information request the borrower sent by mail or phone."""
    form = WrittenRequestForm()

    def record(session: Session) -> str:
        case = record_written_request(
            session, loan_number, form.kind.data or "", form.topic.data or "", received_on=form.received_on.data
            or date.min, summary=form.reason.data or "", country=settings().country, actor=user().username,
        )  # fmt: skip
        return str(_("Case %(reference)s opened.", reference=case.reference))

    return run_action(loan_number, form, record)


@bp.post("/<loan_number>/foreclosure/referral")
@requires_role(DECISION_ROLE)
def refer(loan_number: str) -> Response:
    """Record the loan's referral to foreclosure, refused before day 121 or while an application is pending."""
    form = ForeclosureReferralForm()

    def record(session: Session) -> str:
        refer_to_foreclosure(session, loan_number, on=form.on.data or date.min, actor=user().username,
                             reason=form.reason.data or "")  # fmt: skip
        return str(_("Referral to foreclosure recorded."))

    return run_action(loan_number, form, record)


@bp.post("/<loan_number>/foreclosure/sale")
@requires_role(DECISION_ROLE)
def schedule_sale(loan_number: str) -> Response:
    """Record a foreclosure sale date, refused while a complete application is pending."""
    form = ForeclosureSaleForm()

    def record(session: Session) -> str:
        schedule_foreclosure_sale(session, loan_number, sale_on=form.sale_on.data or date.min,
                                  on=current_date(session, servicer_today()), actor=user().username,
                                  reason=form.reason.data or "")  # fmt: skip
        return str(_("Foreclosure sale scheduled."))

    return run_action(loan_number, form, record)


@bp.post("/<loan_number>/fees/waive")
@requires_role(REQUEST_ROLE)
def waive_fee(loan_number: str) -> Response | str:
    """Preview waiving what is still owed on one fee; above the portfolio's threshold it waits for approval."""
    return money_action(loan_number, FeeWaiverForm(), ActionKind.FEE_WAIVER, "ledger")


@bp.post("/<loan_number>/escrow-analysis")
@requires_role(DECISION_ROLE)
def analyze_escrow(loan_number: str) -> Response | str:
    """Preview an escrow analysis now with the portfolio's settings (new deposit, refund or bill), then run it."""
    return money_action(loan_number, EscrowAnalysisForm(), ActionKind.ESCROW_ANALYSIS, "escrow")


@bp.post("/<loan_number>/forbearance")
@requires_role(REQUEST_ROLE)
def place_forbearance(loan_number: str) -> Response | str:
    """Preview a forbearance, then send it for a supervisor's approval (the borrower is told once approved)."""
    return money_action(loan_number, ForbearanceForm(), ActionKind.FORBEARANCE, "workouts")


@bp.post("/<loan_number>/forbearance/end")
@requires_role(DECISION_ROLE)
def end_forbearance(loan_number: str) -> Response:
    """End the loan's active forbearance."""
    form = EndForbearanceForm()

    def end(session: Session) -> str:
        end_forbearance_for_reason(
            session, loan_number, on=current_date(session, servicer_today()), reason=form.reason.data or "",
            actor=user().username,
        )  # fmt: skip
        return str(_("Forbearance ended."))

    return run_action(loan_number, form, end)


@bp.post("/<loan_number>/workout-decision")
@requires_role(REQUEST_ROLE)
def workout_decision(loan_number: str) -> Response | str:
    """Preview a repayment plan, deferral or modification and send it for approval; or record a denial."""
    form = WorkoutDecisionForm()
    if form.decision.data != "deny":
        kind = ActionKind(form.kind.data) if form.kind.data in WorkoutKind._value2member_map_ else None
        return money_action(loan_number, form, kind or ActionKind.MODIFICATION, "workouts")
    if not user().role.includes(DECISION_ROLE):
        abort(403)  # a denial is a supervisor's regulated decision (Reg X 1024.41)

    def deny(session: Session) -> str:
        reason, case_reference = form.reason.data or "", (form.case_reference.data or "").strip() or None
        deny_workout(session, loan_number, WorkoutKind(form.kind.data), on=current_date(session, servicer_today()),
                     reason=reason, actor=user().username, case_reference=case_reference)  # fmt: skip
        return str(_("Denial recorded."))

    return run_action(loan_number, form, deny)


@bp.post("/<loan_number>/contact-flags")
@requires_role(FLAG_ROLE)
def set_contact_flag(loan_number: str) -> Response:
    """Set a contact flag (cease communication, bankruptcy, deceased) on the borrower or the loan."""
    form = ContactFlagForm()

    def set_flag(session: Session) -> str:
        flag = set_flag_on(
            session, loan_number, form.flag.data or "", note=form.reason.data or "",
            every_loan=bool(form.every_loan.data), actor=user().username, now=datetime.now(UTC),
        )  # fmt: skip
        return str(_("Flag set: %(flag)s. Reminders and collection messages stop; required notices still go out.",
                     flag=label(FLAGS, flag.flag)))  # fmt: skip

    return run_action(loan_number, form, set_flag)


@bp.post("/<loan_number>/contact-flags/clear")
@requires_role(DECISION_ROLE)
def clear_contact_flag(loan_number: str) -> Response:
    """Clear a contact flag in force, with the reason."""
    form = ClearContactFlagForm()

    def clear(session: Session) -> str:
        flag = clear_flag_on(session, loan_number, form.flag_id.data or 0, note=form.reason.data or "",
                             actor=user().username, now=datetime.now(UTC))  # fmt: skip
        return str(_("Flag cleared: %(flag)s.", flag=label(FLAGS, flag.flag)))

    return run_action(loan_number, form, clear)


# -- promises to pay ------------------------------------------------------------------------------------


@bp.post("/<loan_number>/promises")
@requires_role(PROMISE_ROLE)
def record_promise(loan_number: str) -> Response:
    """Record the promise to pay the borrower made to the specialist (by phone, letter, in person...)."""
    form = PromiseForm()

    def record(session: Session) -> str:
        promise = make_promise(
            session, loan_number, amount=form.amount_promised(), promised_for=form.promised_for.data or date.min,
            today=promise_day(session, servicer_today()), channel=form.channel.data or "", actor=user().username,
        )  # fmt: skip
        currency = session.get_one(Loan, promise.loan_id).currency
        return str(_("Promise to pay %(amount)s by %(day)s recorded.", amount=money(promise.amount, currency),
                     day=format_date(promise.promised_for)))  # fmt: skip

    return run_action(loan_number, form, record)


@bp.post("/<loan_number>/promises/cancel")
@requires_role(PROMISE_ROLE)
def cancel_loan_promise(loan_number: str) -> Response:
    """Cancel one of the loan's open promises, with the reason."""
    form = PromiseCancelForm()

    def cancel(session: Session) -> str:
        cancel_promise(session, loan_number, form.promise_id.data or 0, on=promise_day(session, servicer_today()),
                       actor=user().username, reason=form.reason.data or "")  # fmt: skip
        return str(_("Promise cancelled."))

    return run_action(loan_number, form, cancel)


from console.loans import explain, mail  # noqa: E402, F401  (their views join this blueprint; they import `bp` from here)
