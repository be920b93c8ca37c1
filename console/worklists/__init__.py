"""Worklists of cases with their business-day deadlines, and the decisions on them.

Each worklist is one kind of case, nearest deadline first, overdue ones marked. A case page shows its
deadlines, its history (the audit log) and the decisions that fit its kind and stage; each decision is one
core use case in `servicing.decisions`, run in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response

from console.arguments import page_argument, servicer_today, settings
from console.security import audits_view, requires_role, sessions, user
from console.worklists.forms import (
    AnswerForm,
    CompleteForm,
    DenyForm,
    ExtendForm,
    IncompleteForm,
    NoteForm,
    ResolveErrorForm,
)
from servicing import decisions
from servicing.cases import (
    NOT_EXTENDABLE,
    CaseKind,
    business_days_left,
    case_history,
    count_open_cases,
    get_case,
    identity_unconfirmed,
    open_cases_of_kind,
    open_deadline,
)
from servicing.documents.correspondence import Correspondence
from servicing.errors import ServicingError
from servicing.specialists import Role
from servicing.store.models import Borrower, Case, Loan

bp = Blueprint("worklists", __name__, url_prefix="/console/worklists")
PAGE_SIZE = 50

WORKLISTS: dict[str, tuple[CaseKind, object]] = {
    "loss_mitigation": (CaseKind.LOSS_MITIGATION, _l("Loss-mitigation applications")),
    "notice_of_error": (CaseKind.NOTICE_OF_ERROR, _l("Notices of error")),
    "information_request": (CaseKind.REQUEST_FOR_INFORMATION, _l("Information requests")),
    "payoff_request": (CaseKind.PAYOFF_REQUEST, _l("Payoff requests")),
    "early_intervention": (CaseKind.EARLY_INTERVENTION, _l("Early-intervention tasks")),
    "arrears_information": (CaseKind.ARREARS_INFORMATION, _l("Arrears information (UK)")),
    "broken_promise": (CaseKind.BROKEN_PROMISE, _l("Broken promises to pay")),
}
WORKLIST_OF_KIND = {kind.value: name for name, (kind, _) in WORKLISTS.items()}
DEADLINE_NAMES = {
    "acknowledge": _l("Acknowledge"),
    "resolve": _l("Resolve"),
    "answer": _l("Answer"),
    "send_statement": _l("Send payoff statement"),
    "completeness_notice": _l("Complete/incomplete notice"),
    "decision": _l("Decision"),
    "appeal_window": _l("Appeal window"),
    "appeal_decision": _l("Appeal decision"),
    "live_contact": _l("Live contact"),
    "written_notice": _l("Written notice"),
    "send_information": _l("Send arrears information"),
    "complete_notice": _l("Complete-application notice"),
    "follow_up": _l("Follow up"),
}
STAGE_NAMES = {
    "open": _l("open"),
    "closed": _l("closed"),
    "started": _l("started"),
    "submitted_incomplete": _l("incomplete"),
    "submitted_complete": _l("complete"),
    "under_review": _l("under review"),
    "approved": _l("approved"),
    "denied": _l("denied"),
    "appealed": _l("appealed"),
    "denied_final": _l("denied after appeal"),
}


@dataclass(frozen=True)
class Context:
    """What a decision needs besides its form: the day, the moment, the country, who decides, and the letters desk
    that makes the notice or letter a decision owes the borrower."""

    on: date
    now: datetime
    country: str
    actor: str
    letters: Correspondence


Run = Callable[[Session, str, NoteForm, Context], decisions.Decision]


@dataclass(frozen=True)
class DecisionRule:
    """One decision a case page offers: its form, when it fits, the least role, and the use case it runs."""

    label: object
    form: type[NoteForm]
    kinds: frozenset[CaseKind]
    fits: Callable[[Case], bool]
    run: Run
    role: Role = Role.SPECIALIST


def _has(name: str) -> Callable[[Case], bool]:
    return lambda case: open_deadline(case, name) is not None


def _status_in(*statuses: str) -> Callable[[Case], bool]:
    return lambda case: case.status in statuses


def _extendable(case: Case) -> bool:
    if case.data.get("extended") or case.data.get("topic") in NOT_EXTENDABLE:
        return False
    return _has("resolve")(case) or _has("answer")(case)


def _always(case: Case) -> bool:
    return True


NOTICE_OR_REQUEST = frozenset({CaseKind.NOTICE_OF_ERROR, CaseKind.REQUEST_FOR_INFORMATION})
LOSS_MITIGATION = frozenset({CaseKind.LOSS_MITIGATION})
IDENTITY_DECISIONS = frozenset({"confirm_identity", "not_the_borrower"})  # the only ones before identity is confirmed

DECISIONS: dict[str, DecisionRule] = {
    "confirm_identity": DecisionRule(
        _l("Confirm the borrower's identity"), NoteForm, frozenset(CaseKind), identity_unconfirmed,
        lambda s, ref, f, c: decisions.confirm_case_identity(s, ref, actor=c.actor, note=f.note.data),
    ),
    "not_the_borrower": DecisionRule(
        _l("Not this borrower: unlink"), NoteForm, frozenset(CaseKind), identity_unconfirmed,
        lambda s, ref, f, c: decisions.reject_case_identity(s, ref, actor=c.actor, note=f.note.data),
    ),
    "acknowledge": DecisionRule(
        _l("Acknowledge"), NoteForm, NOTICE_OR_REQUEST, _has("acknowledge"),
        lambda s, ref, f, c: decisions.acknowledge_case(s, ref, on=c.on, now=c.now, actor=c.actor, note=f.note.data,
                                                        letters=c.letters),
    ),
    "extend": DecisionRule(
        _l("Extend by 15 business days"), ExtendForm, NOTICE_OR_REQUEST, _extendable,
        lambda s, ref, f, c: decisions.extend_case(s, ref, f.reason.data, country=c.country, on=c.on, now=c.now,
                                                   actor=c.actor, note=f.note.data),
    ),
    "resolve": DecisionRule(
        _l("Resolve"), ResolveErrorForm, frozenset({CaseKind.NOTICE_OF_ERROR}), _always,
        lambda s, ref, f, c: decisions.resolve_notice_of_error(
            s, ref, f.outcome.data, reason=f.reason.data or "", on=c.on, now=c.now, actor=c.actor, note=f.note.data,
            reply=f.reply.data or "", letters=c.letters),
    ),
    "answer": DecisionRule(
        _l("Answered"), AnswerForm, frozenset({CaseKind.REQUEST_FOR_INFORMATION}), _always,
        lambda s, ref, f, c: decisions.answer_information_request(s, ref, on=c.on, now=c.now, actor=c.actor,
                                                                  note=f.note.data, reply=f.reply.data or "",
                                                                  letters=c.letters),
    ),
    "statement_sent": DecisionRule(
        _l("Payoff statement sent"), NoteForm, frozenset({CaseKind.PAYOFF_REQUEST}), _always,
        lambda s, ref, f, c: decisions.record_payoff_statement_sent(s, ref, on=c.on, now=c.now, actor=c.actor,
                                                                    note=f.note.data, letters=c.letters),
    ),
    "complete": DecisionRule(
        _l("Application complete"), CompleteForm, LOSS_MITIGATION, _status_in("started", "submitted_incomplete"),
        lambda s, ref, f, c: decisions.mark_application_complete(s, ref, on=c.on, now=c.now, actor=c.actor,
                                                                 note=f.note.data, received_on=f.received_on.data,
                                                                 letters=c.letters),
    ),
    "incomplete": DecisionRule(
        _l("Application incomplete"), IncompleteForm, LOSS_MITIGATION, _status_in("started"),
        lambda s, ref, f, c: decisions.mark_application_incomplete(
            s, ref, f.missing.data, on=c.on, now=c.now, actor=c.actor, note=f.note.data, letters=c.letters),
    ),
    "approve": DecisionRule(
        _l("Approve"), NoteForm, LOSS_MITIGATION, _status_in("submitted_complete", "under_review", "appealed"),
        lambda s, ref, f, c: decisions.approve_application(s, ref, on=c.on, now=c.now, actor=c.actor,
                                                           note=f.note.data, letters=c.letters),
        Role.SUPERVISOR,
    ),
    "deny": DecisionRule(
        _l("Deny"), DenyForm, LOSS_MITIGATION, _status_in("submitted_complete", "under_review", "appealed"),
        lambda s, ref, f, c: decisions.deny_application(s, ref, f.reason.data, on=c.on, now=c.now, actor=c.actor,
                                                        note=f.note.data, letters=c.letters),
        Role.SUPERVISOR,
    ),
    "appeal": DecisionRule(
        _l("Borrower appealed"), NoteForm, LOSS_MITIGATION, _status_in("denied"),
        lambda s, ref, f, c: decisions.record_appeal(s, ref, on=c.on, actor=c.actor, note=f.note.data),
    ),
    "live_contact": DecisionRule(
        _l("Live contact made"), NoteForm, frozenset({CaseKind.EARLY_INTERVENTION}), _has("live_contact"),
        lambda s, ref, f, c: decisions.record_live_contact(s, ref, on=c.on, actor=c.actor, note=f.note.data),
    ),
    "written_notice": DecisionRule(
        _l("Written notice sent"), NoteForm, frozenset({CaseKind.EARLY_INTERVENTION}), _has("written_notice"),
        lambda s, ref, f, c: decisions.record_written_notice(s, ref, on=c.on, actor=c.actor, note=f.note.data,
                                                             letters=c.letters),
    ),
    "arrears_information_sent": DecisionRule(
        _l("Arrears information sent"), NoteForm, frozenset({CaseKind.ARREARS_INFORMATION}),
        _has("send_information"),
        lambda s, ref, f, c: decisions.record_arrears_information_sent(s, ref, on=c.on, actor=c.actor,
                                                                       note=f.note.data),
    ),
    "promise_follow_up": DecisionRule(
        _l("Borrower followed up"), NoteForm, frozenset({CaseKind.BROKEN_PROMISE}), _has("follow_up"),
        lambda s, ref, f, c: decisions.record_promise_follow_up(s, ref, on=c.on, actor=c.actor, note=f.note.data),
    ),
}  # fmt: skip


# -- pages ----------------------------------------------------------------------------------------------


@bp.get("/")
@requires_role(Role.SPECIALIST)
def index() -> str:
    """Show each worklist with its open and overdue counts."""
    with sessions()() as session:
        counts = count_open_cases(session, servicer_today())
    lists = [(name, title, counts[kind.value]) for name, (kind, title) in WORKLISTS.items()]
    return render_template("worklists/index.html", lists=lists)


@bp.get("/<kind>")
@requires_role(Role.SPECIALIST)
@audits_view("worklist", id_argument="kind")
def show(kind: str) -> str:
    """Show one worklist's open cases, nearest deadline first, each deadline's due date and days left."""
    if kind not in WORKLISTS:
        abort(404)
    case_kind, title = WORKLISTS[kind]
    page, today, country = page_argument(), servicer_today(), settings().country
    with sessions()() as session:
        cases, total = open_cases_of_kind(session, case_kind, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        rows = [
            {
                "case": case,
                "loan_number": loan_number,
                "overdue": case.due_on is not None and case.due_on < today,
                "unconfirmed": identity_unconfirmed(case),
                "deadlines": [
                    (d, business_days_left(today, d.due_on, case.data.get("jurisdiction", country)))
                    for d in case.deadlines
                    if d.met_on is None
                ],
            }
            for case, loan_number in cases
        ]
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(
        "worklists/show.html", kind=kind, title=title, rows=rows, total=total, page=page, pages=pages, today=today,
        deadline_names=DEADLINE_NAMES, stage_names=STAGE_NAMES,
    )  # fmt: skip


@bp.get("/cases/<reference>")
@requires_role(Role.SPECIALIST)
@audits_view("case", id_argument="reference")
def case(reference: str) -> str:
    """Show a case: its deadlines, its history, its loan and the decisions that fit it now."""
    today, country = servicer_today(), settings().country
    with sessions()() as session:
        try:
            found = get_case(session, reference)
        except ServicingError:
            abort(404)
        loan_number = session.get_one(Loan, found.loan_id).loan_number if found.loan_id else None
        borrower = session.get(Borrower, found.borrower_id) if found.borrower_id else None
        unconfirmed = identity_unconfirmed(found)
        calendar = found.data.get("jurisdiction", country)  # the loan's country's business days
        deadlines = [(d, business_days_left(today, d.due_on, calendar)) for d in found.deadlines]
        history = case_history(session, reference)
        offered = [
            (name, rule.label, rule.form(prefix=name))
            for name, rule in DECISIONS.items()
            if CaseKind(found.kind) in rule.kinds
            and found.closed_on is None
            and rule.fits(found)
            and (name in IDENTITY_DECISIONS or not unconfirmed)
            and user().role.includes(rule.role)
        ]
        return render_template(
            "worklists/case.html", case=found, loan_number=loan_number, deadlines=deadlines, history=history,
            offered=offered, borrower=borrower, unconfirmed=unconfirmed, today=today,
            worklist=WORKLIST_OF_KIND.get(found.kind), worklists=WORKLISTS, deadline_names=DEADLINE_NAMES,
            stage_names=STAGE_NAMES,
        )  # fmt: skip


@bp.post("/cases/<reference>/<decision>")
@requires_role(Role.SPECIALIST)
def decide(reference: str, decision: str) -> Response:
    """Take one decision on a case; a refused or incomplete form changes nothing and says why."""
    rule = DECISIONS.get(decision)
    if rule is None:
        abort(404)
    if not user().role.includes(rule.role):
        abort(403)
    back = redirect(url_for("worklists.case", reference=reference))
    form = rule.form(prefix=decision)
    if not form.validate():
        for field, errors in form.errors.items():
            label = getattr(getattr(form, str(field), None), "label", None)
            flash(_("%(field)s: %(error)s", field=label.text if label else field, error="; ".join(map(str, errors))),
                  "error")  # fmt: skip
        return back
    context = Context(servicer_today(), datetime.now(UTC), settings().country, user().username,
                      Correspondence.from_settings(settings()))  # fmt: skip
    try:
        with sessions().begin() as session:
            taken = rule.run(session, reference, form, context)
            notified = taken.notice is not None
    except ServicingError as refused:
        flash(_("Refused: %(reason)s", reason=str(refused)), "error")
        return back
    if notified:
        flash(_("Decision recorded on %(reference)s; the borrower will be told.", reference=reference), "success")
    else:
        flash(_("Decision recorded on %(reference)s.", reference=reference), "success")
    return back
