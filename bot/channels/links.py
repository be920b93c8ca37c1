"""Single-use download links: a borrower on SMS (or any channel that cannot carry a file) gets their document here.

`GET /d/<token>` shows a page in the borrower's language with a download button; `POST /d/<token>` streams the
PDF once and uses the link up (`document.downloaded`). A link is valid 24 hours; used, expired or unknown, it
answers with a page saying so (410 Gone; 404 for a token that was never issued). The page is a GET and the
download a POST so that a messaging app that fetches the link to preview it does not use it up. The token in
the URL is the secret (only its SHA-256 is on file), so the download needs no CSRF token: the blueprint marks
itself exempt. Mounted by the SMS channel (`bot.channels.sms.register`). See docs/documents.md, "Delivery".
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, render_template
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers.response import Response

from bot.i18n import Speaker, say
from servicing.config import Settings
from servicing.documents.delivery import LinkRefused, check_link, file_name, kind_title, redeem_link
from servicing.documents.records import read_document
from servicing.errors import DocumentNotFound, DocumentTampered
from servicing.speaking import is_right_to_left
from servicing.store.models import Borrower, Document, Loan

PAGE_TITLE = say("Your document from {servicer}")
PAGE_TEXT = say(
    "{title}, {date}. This link works once: pressing the button downloads the PDF file, and the link then stops "
    "working. You need a PDF reader to open it."
)
DOWNLOAD = say("Download the PDF")
LINK_USED = say("This link was already used: each link works once. For a new one, write DOCUMENTS to us in the chat, "
                "or call {phone}.")  # fmt: skip
LINK_EXPIRED = say("This link has expired: links work for 24 hours. For a new one, write DOCUMENTS to us in the chat, "
                   "or call {phone}.")  # fmt: skip
LINK_UNKNOWN = say(
    "This link is not valid. Check that you copied all of it, or write DOCUMENTS to us in the chat for a new one."
)
FILE_MISSING = say("Sorry, this document cannot be downloaded right now. Please call {phone}.")
GONE = {"used": LINK_USED, "expired": LINK_EXPIRED}

bp = Blueprint("links", __name__, url_prefix="/d", template_folder="templates")
bp.loanline_csrf_exempt = True  # type: ignore[attr-defined]  # the token in the URL is the secret


def register(app: Flask) -> None:
    """Mount the link pages on the app (once)."""
    if bp.name not in app.blueprints:
        app.register_blueprint(bp)


def _sessions() -> sessionmaker[Session]:
    factory: sessionmaker[Session] = current_app.extensions["loanline.sessions"]
    return factory


def _settings() -> Settings:
    settings: Settings = current_app.extensions["loanline.settings"]
    return settings


def _now() -> datetime:
    return datetime.now(UTC)


@bp.get("/<token>")
def page(token: str) -> Response:
    """Show what the link holds and the button that downloads it; say so when it cannot be used."""
    with _sessions()() as session:
        try:
            _, document = check_link(session, token, now=_now())
        except LinkRefused as refused:
            return _refused(session, refused)
        speaker = _speaker(session, document)
        title = speaker.say(kind_title(document.kind))
        heading = speaker.say(PAGE_TITLE, servicer=_settings().servicer_name)
        text = speaker.say(PAGE_TEXT, title=title, date=speaker.day(document.business_date))
        return _page(speaker, heading, text, download=speaker.say(DOWNLOAD))


@bp.post("/<token>")
def download(token: str) -> Response:
    """Stream the document once and use the link up; a file that cannot be read leaves the link unused."""
    sessions = _sessions()
    try:
        with sessions.begin() as session:
            document = redeem_link(session, token, now=_now())
            data = read_document(_settings().documents_dir, document)  # raising here rolls the redemption back
            name = file_name(document, session.get_one(Loan, document.loan_id).loan_number[-4:])
    except LinkRefused as refused:
        with sessions() as session:
            return _refused(session, refused)
    except (DocumentNotFound, DocumentTampered):
        speaker = Speaker("en")
        text = speaker.say(FILE_MISSING, phone=_settings().servicer_phone)
        return _page(speaker, _settings().servicer_name, text, status=503)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _refused(session: Session, refused: LinkRefused) -> Response:
    """Answer a link that cannot be used: 410 in the borrower's language when it was issued, else 404."""
    settings = _settings()
    if refused.borrower_id is None:
        speaker = Speaker("en")
        return _page(speaker, settings.servicer_name, speaker.say(LINK_UNKNOWN), status=404)
    speaker = Speaker(session.get_one(Borrower, refused.borrower_id).locale)
    text = speaker.say(GONE[refused.why], phone=settings.servicer_phone)
    return _page(speaker, speaker.say(PAGE_TITLE, servicer=settings.servicer_name), text, status=410)


def _speaker(session: Session, document: Document) -> Speaker:
    return Speaker(session.get_one(Borrower, document.borrower_id).locale)


def _page(speaker: Speaker, heading: str, text: str, *, download: str | None = None, status: int = 200) -> Response:
    direction = "rtl" if is_right_to_left(speaker.catalog) else "ltr"
    html = render_template("links/page.html", lang=speaker.catalog.replace("_", "-"), direction=direction,
                           heading=heading, message=text, download=download)  # fmt: skip
    return Response(html, status=status, content_type="text/html; charset=utf-8")
