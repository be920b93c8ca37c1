"""Use cases of four eyes: a maker asks for an action, a checker approves it (it runs then, once) or rejects it;
until then the maker may withdraw it (asked by mistake, or no longer needed), and nobody can approve it after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from servicing.approvals.actions import ActionKind, Circumstances, MoneyAction, perform
from servicing.approvals.effects import Effect, loan_state, preview
from servicing.audit import record_audit
from servicing.errors import InvalidInput, LoanNotFound, ServicingError
from servicing.specialists import Role
from servicing.store.models import ApprovalRequest, Loan, Specialist

PENDING, APPROVED, REJECTED, WITHDRAWN = "pending", "approved", "rejected", "withdrawn"
CHECKER_ROLE = Role.SUPERVISOR  # supervisors and admins approve; docs/console-loans.md
NOTE_LENGTH = 200


class ApprovalRefused(ServicingError):
    """A request that cannot be made, approved or rejected; the reason is the message."""


class StaleRequest(ApprovalRefused):
    """The loan changed after the checker looked at the effect: they look again before approving."""


@dataclass(frozen=True)
class Decision:
    """What an approval or rejection did: decided now, or found already decided (a double click)."""

    request_id: int
    status: str
    decided_now: bool
    decided_by: str


def request_approval(
    session: Session, action: MoneyAction, effect: Effect, *, maker: str, request_key: str, now: datetime
) -> tuple[ApprovalRequest, bool]:
    """Keep the maker's previewed action until a checker decides; the same request key asks once.

    Returns the request and whether it was made now. Refused when the loan changed since the preview.
    """
    existing = session.scalar(select(ApprovalRequest).where(ApprovalRequest.request_key == request_key))
    if existing is not None:
        return existing, False
    if not action.reason.strip():
        raise InvalidInput("a reason is required")
    if len(request_key) < 8 or len(request_key) > 40:
        raise InvalidInput("the request key is missing: preview the action again")
    loan_id = _loan_id(session, action.loan_number, for_update=True)
    if loan_state(session, action.loan_number) != effect.loan_state:
        raise StaleRequest(f"loan {action.loan_number} changed since the preview: look at the effect again")
    request = ApprovalRequest(
        request_key=request_key, loan_id=loan_id, kind=action.kind.value, terms=dict(action.terms),
        reason=action.reason.strip(), effect=effect.to_json(), loan_state=effect.loan_state, status=PENDING,
        requested_by=maker, requested_at=now,
    )  # fmt: skip
    session.add(request)
    session.flush()
    record_audit(session, maker, "approval.requested", "loan", action.loan_number,
                 {"request_id": request.id, "kind": action.kind.value, "reason": action.reason.strip(),
                  "terms": dict(action.terms), "effect": _changed_figures(effect)})  # fmt: skip
    return request, True


def approve_request(session: Session, request_id: int, *, seen_state: str, who: Circumstances) -> Decision:
    """Run a pending request's action as the checker, once, if the loan is as the checker last saw it.

    The checker must be a supervisor or an admin and not the maker. A second approval of the same request
    (a double click, two tabs) finds it approved and changes nothing. When the loan changed since the maker's
    preview, the checker's page showed the effect recomputed: `seen_state` is the state that page showed.
    """
    request = _locked_request(session, request_id)
    if request.status != PENDING:
        return _already_decided(request, who.actor)
    _require_checker(session, request, who.actor)
    loan_number = _loan_number(session, request.loan_id)
    if loan_state(session, loan_number) != seen_state:
        raise StaleRequest(f"loan {loan_number} changed while you looked: look at the effect again before approving")
    action = action_of(request, loan_number)
    outcome = perform(session, action, who).word
    _decide(session, request, APPROVED, who.actor, None, who.now)
    record_audit(session, who.actor, "approval.approved", "loan", loan_number,
                 {"request_id": request.id, "kind": request.kind, "maker": request.requested_by, "outcome": outcome,
                  "recomputed": seen_state != request.loan_state})  # fmt: skip
    return Decision(request.id, APPROVED, True, who.actor)


def reject_request(session: Session, request_id: int, *, checker: str, note: str, now: datetime) -> Decision:
    """Reject a pending request with a note; nothing about the loan changes."""
    if not note.strip():
        raise ApprovalRefused("a rejection needs a note")
    if len(note) > NOTE_LENGTH:
        raise ApprovalRefused(f"a note has at most {NOTE_LENGTH} characters")
    request = _locked_request(session, request_id)
    if request.status != PENDING:
        return _already_decided(request, checker)
    _require_checker(session, request, checker)
    _decide(session, request, REJECTED, checker, note.strip(), now)
    record_audit(session, checker, "approval.rejected", "loan", _loan_number(session, request.loan_id),
                 {"request_id": request.id, "kind": request.kind, "maker": request.requested_by,
                  "note": note.strip()})  # fmt: skip
    return Decision(request.id, REJECTED, True, checker)


def withdraw_request(session: Session, request_id: int, *, maker: str, note: str, now: datetime) -> Decision:
    """Withdraw a pending request as its maker, with an optional note why; nothing about the loan changes.

    Only the maker withdraws (a checker rejects instead); a second withdrawal (a double click) finds it withdrawn
    and changes nothing, and a request already approved or rejected stays as decided.
    """
    why = " ".join(note.split())
    if len(why) > NOTE_LENGTH:
        raise ApprovalRefused(f"a note has at most {NOTE_LENGTH} characters")
    request = _locked_request(session, request_id)
    if request.status != PENDING:
        return _already_decided(request, maker)
    if maker != request.requested_by:
        raise ApprovalRefused("only the person who asked for a request withdraws it; a checker rejects it instead")
    _decide(session, request, WITHDRAWN, maker, why or None, now)
    record_audit(session, maker, "approval.withdrawn", "loan", _loan_number(session, request.loan_id),
                 {"request_id": request.id, "kind": request.kind, "note": why or None})  # fmt: skip
    return Decision(request.id, WITHDRAWN, True, maker)


def recompute(session: Session, request: ApprovalRequest, who: Circumstances) -> Effect:
    """Work out the request's effect on the loan as it is now (for the checker's page); nothing is kept."""
    return preview(session, action_of(request, _loan_number(session, request.loan_id)), who)


def action_of(request: ApprovalRequest, loan_number: str) -> MoneyAction:
    """Return the action a request asks for."""
    return MoneyAction(ActionKind(request.kind), loan_number, dict(request.terms), request.reason)


def pending_count(session: Session) -> int:
    """Return how many requests wait for a checker."""
    return session.scalar(select(func.count()).where(ApprovalRequest.status == PENDING)) or 0


def requests_page(session: Session, status: str = PENDING, limit: int = 100) -> list[tuple[ApprovalRequest, str]]:
    """Return requests in a status with their loan numbers, oldest first when pending, newest first otherwise."""
    order = ApprovalRequest.id.asc() if status == PENDING else ApprovalRequest.id.desc()
    rows = session.execute(
        select(ApprovalRequest, Loan.loan_number).join(Loan, Loan.id == ApprovalRequest.loan_id)
        .where(ApprovalRequest.status == status).order_by(order).limit(limit)
    )  # fmt: skip
    return [(request, number) for request, number in rows]


def loan_requests(session: Session, loan_number: str, limit: int = 20) -> list[ApprovalRequest]:
    """Return a loan's latest requests, newest first."""
    return list(
        session.scalars(
            select(ApprovalRequest).join(Loan, Loan.id == ApprovalRequest.loan_id)
            .where(Loan.loan_number == loan_number).order_by(ApprovalRequest.id.desc()).limit(limit)
        )
    )  # fmt: skip


def get_request(session: Session, request_id: int) -> tuple[ApprovalRequest, str]:
    """Return a request and its loan number, or refuse an unknown one."""
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        raise ApprovalRefused(f"no approval request {request_id}")
    return request, _loan_number(session, request.loan_id)


def _locked_request(session: Session, request_id: int) -> ApprovalRequest:
    request = session.scalar(select(ApprovalRequest).where(ApprovalRequest.id == request_id).with_for_update())
    if request is None:
        raise ApprovalRefused(f"no approval request {request_id}")
    return request


def _already_decided(request: ApprovalRequest, actor: str) -> Decision:
    return Decision(request.id, request.status, False, request.decided_by or actor)


def _require_checker(session: Session, request: ApprovalRequest, checker: str) -> None:
    if checker == request.requested_by:
        raise ApprovalRefused("the maker of a request cannot approve or reject it: a second person decides")
    role = session.scalar(select(Specialist.role).where(Specialist.username == checker, Specialist.active.is_(True)))
    if role is None or not Role(role).includes(CHECKER_ROLE):
        raise ApprovalRefused("only a supervisor or an administrator decides an approval request")


def _decide(session: Session, request: ApprovalRequest, status: str, checker: str, note: str | None,
            now: datetime) -> None:  # fmt: skip
    # the status moves from pending once: a concurrent decision finds no pending row and changes nothing
    done = session.execute(
        update(ApprovalRequest).where(ApprovalRequest.id == request.id, ApprovalRequest.status == PENDING)
        .values(status=status, decided_by=checker, decided_at=now, decision_note=note)
        .execution_options(synchronize_session="fetch")
    )  # fmt: skip
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ApprovalRefused(f"approval request {request.id} was decided meanwhile")


def _loan_id(session: Session, loan_number: str, *, for_update: bool = False) -> int:
    query = select(Loan.id).where(Loan.loan_number == loan_number)
    found = session.scalar(query.with_for_update() if for_update else query)
    if found is None:
        raise LoanNotFound(loan_number)
    return found


def _loan_number(session: Session, loan_id: int) -> str:
    return session.get_one(Loan, loan_id).loan_number


def _changed_figures(effect: Effect) -> dict[str, list[str]]:
    return {name: [effect.before.get(name, ""), effect.after.get(name, "")] for name in effect.changed()}
