"""The loan page's mail: its addresses, the borrower's E-SIGN consent and delivery preferences, and its documents
(view and download, both audited; re-send; print again). Views on the `loans` blueprint; docs/console-loans.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from console.arguments import page_argument, settings
from console.loans import READ_ROLE, bp, run_action
from console.loans.mail_forms import (
    AddressForm,
    ConsentForm,
    DocumentActionForm,
    PreferenceForm,
    RevokeConsentForm,
)
from console.security import requires_role, sessions, user
from servicing.documents.addresses import MAILING, PROPERTY, change_address
from servicing.documents.context import Address
from servicing.documents.delivery import (
    borrower_of_loan,
    file_name,
    open_for_specialist,
    print_again,
    record_consent,
    resend_document,
    revoke_consent,
    set_preference,
)
from servicing.documents.on_file import LoanMail, loan_mail
from servicing.errors import DocumentNotFound, DocumentTampered, LoanNotFound
from servicing.specialists import Role

# Who may do what (docs/console-loans.md): the borrower's mail is front-line work, like posting a payment.
MAIL_ROLE = Role.SPECIALIST
DOCUMENTS_PER_PAGE = 10
# A PDF is shown by the browser's own viewer, which the console's page policy (object-src 'none') would block.
PDF_POLICY = "default-src 'none'; object-src 'self'; frame-ancestors 'none'"


def mail_context(session: Session, loan_number: str) -> dict[str, Any]:
    """Return what the loan page shows of the loan's mail, and its forms filled with what is on file."""
    mail = loan_mail(session, loan_number, page=page_argument("documents_page"), per_page=DOCUMENTS_PER_PAGE)
    return {
        "mail": mail,
        "mailing_form": _address_form(mail.mailing_address),
        "property_form": _address_form(mail.property_address),
        "consent_form": ConsentForm(formdata=None),
        "revoke_form": RevokeConsentForm(formdata=None),
        "preference_form": PreferenceForm(formdata=None),
        "document_form": DocumentActionForm(formdata=None),
        "home_country": settings().country,  # an address abroad names its country
    }


def _address_form(address: Address) -> AddressForm:
    return AddressForm(formdata=None, data={part: getattr(address, part) or "" for part in (
        "line1", "line2", "city", "region", "postal_code", "country")})  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


# -- documents ------------------------------------------------------------------------------------------------


@bp.get("/<loan_number>/documents/<int:document_id>")
@requires_role(READ_ROLE)
def view_document(loan_number: str, document_id: int) -> Response:
    """Show a document's PDF in the browser (audited `document.viewed`)."""
    return _document_response(loan_number, document_id, downloaded=False)


@bp.get("/<loan_number>/documents/<int:document_id>/download")
@requires_role(READ_ROLE)
def download_document(loan_number: str, document_id: int) -> Response:
    """Download a document's PDF, to keep or print here (audited `document.downloaded`)."""
    return _document_response(loan_number, document_id, downloaded=True)


def _document_response(loan_number: str, document_id: int, *, downloaded: bool) -> Response:
    try:
        with sessions().begin() as session:
            document, data = open_for_specialist(session, settings().documents_dir, loan_number, document_id,
                                                 actor=user().username, downloaded=downloaded)  # fmt: skip
            name = file_name(document, loan_number)
    except (LoanNotFound, DocumentNotFound):
        abort(404)
    except DocumentTampered:
        flash(_("Document %(id)s was not shown: its file no longer matches the fingerprint it was made with. "
                "Tell your supervisor.", id=document_id), "error")  # fmt: skip
        return redirect(url_for("loans.show", loan_number=loan_number, _anchor="documents"))
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{"attachment" if downloaded else "inline"}; filename="{name}"'
    response.headers["Content-Security-Policy"] = PDF_POLICY
    return response


@bp.post("/<loan_number>/documents/<int:document_id>/resend")
@requires_role(MAIL_ROLE)
def resend(loan_number: str, document_id: int) -> Response:
    """Tell the borrower again, on their channel, that an electronic document is ready."""
    form = DocumentActionForm()

    def send(session: Session) -> str:
        resend_document(session, loan_number, document_id, actor=user().username, reason=form.reason.data or "",
                        now=_now())  # fmt: skip
        return str(_("The borrower is told again that document %(id)s is ready.", id=document_id))

    return run_action(loan_number, form, send)


@bp.post("/<loan_number>/documents/<int:document_id>/print")
@requires_role(MAIL_ROLE)
def reprint(loan_number: str, document_id: int) -> Response:
    """Put a document back into the next print batch, on paper."""
    form = DocumentActionForm()

    def queue(session: Session) -> str:
        print_again(session, loan_number, document_id, actor=user().username, reason=form.reason.data or "",
                    now=_now())  # fmt: skip
        return str(_("Document %(id)s goes into the next print batch.", id=document_id))

    return run_action(loan_number, form, queue)


# -- addresses ------------------------------------------------------------------------------------------------


@bp.post("/<loan_number>/mailing-address")
@requires_role(MAIL_ROLE)
def edit_mailing_address(loan_number: str) -> Response:
    """Change (or remove) the borrower's mailing address: it serves every loan of theirs."""
    return _edit_address(loan_number, MAILING)


@bp.post("/<loan_number>/property-address")
@requires_role(MAIL_ROLE)
def edit_property_address(loan_number: str) -> Response:
    """Change (or remove) the address of the property securing the loan."""
    return _edit_address(loan_number, PROPERTY)


def _edit_address(loan_number: str, kind: str) -> Response:
    form = AddressForm()

    def save(session: Session) -> str:
        done = change_address(session, loan_number, kind, form.values(kind), actor=user().username,
                              reason=form.reason.data or "")  # fmt: skip
        if not done.changed:
            return str(_("The address is as it was; nothing changed."))
        if done.address is None:
            return str(_("Address removed."))
        return str(_("Address saved."))

    return run_action(loan_number, form, save)


# -- E-SIGN consent and preferences -------------------------------------------------------------------------------


@bp.post("/<loan_number>/esign-consent")
@requires_role(MAIL_ROLE)
def record_esign_consent(loan_number: str) -> Response:
    """Record the E-SIGN consent the borrower gave by phone or in writing."""
    form = ConsentForm()

    def record(session: Session) -> str:
        record_consent(session, borrower_of_loan(session, loan_number), actor=user().username,
                       method=form.method.data or "", evidence=form.evidence.data or "", now=_now())  # fmt: skip
        return str(_("E-SIGN consent recorded. Choose below which documents go electronically."))

    return run_action(loan_number, form, record)


@bp.post("/<loan_number>/esign-consent/revoke")
@requires_role(MAIL_ROLE)
def revoke_esign_consent(loan_number: str) -> Response:
    """Record that the borrower withdrew their E-SIGN consent: every document goes on paper again."""
    form = RevokeConsentForm()

    def revoke(session: Session) -> str:
        revoke_consent(session, borrower_of_loan(session, loan_number), actor=user().username,
                       method=form.method.data or "", now=_now(), reason=form.reason.data or "")  # fmt: skip
        return str(_("E-SIGN consent withdrawn: every document goes on paper again."))

    return run_action(loan_number, form, revoke)


@bp.post("/<loan_number>/delivery-preferences")
@requires_role(MAIL_ROLE)
def set_delivery_preference(loan_number: str) -> Response:
    """Choose paper or electronic delivery for one kind of document, or every kind."""
    form = PreferenceForm()

    def choose(session: Session) -> str:
        set_preference(session, borrower_of_loan(session, loan_number), form.kind.data or "",
                       form.channel.data or "", actor=user().username, now=_now(),
                       reason=form.reason.data or "")  # fmt: skip
        return str(_("Delivery preference saved."))

    return run_action(loan_number, form, choose)


__all__ = ["LoanMail", "mail_context"]
