"""Structured logs: one JSON object a line, with the request id, and no personal data.

Every process (web workers, outbox workers, the scheduler, the Telegram webhook) logs through `configure_logging`.
A line carries the time, level, logger, message and the request id of the request being served (X-Request-Id,
taken from the proxy when it sends a well-formed one, made here otherwise). Messages are written not to hold
personal data; as a second guard, anything that looks like a phone number, an account or card number or an
e-mail address is masked before the line is written (docs/operations.md, "Logs").
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

REQUEST_ID: ContextVar[str | None] = ContextVar("loanline_request_id", default=None)
REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{8,64}")
HANDLER_MARK = "loanline_handler"

# Runs of 7 or more digits (spaces, dots, dashes and brackets between them allowed, a leading +): phone numbers,
# account, routing and card numbers. Dates and times (2026-12-04, 23:00:00) and loan numbers like LN-1001 are not
# personal data and stay readable; so do ids below a million.
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s.\-()]*\d){6,}")
_DATE_OR_TIME = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}-\d{2}-\d{2}[ T]\d{2}|\d{2}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def request_id_from(header: str | None) -> str:
    """Return the caller's request id when it is well formed (a proxy's), else a new one."""
    if header and REQUEST_ID_SHAPE.fullmatch(header):
        return header
    return uuid.uuid4().hex


def masked(text: str) -> str:
    """Return `text` with digit runs (phones, account numbers) and e-mail addresses masked, last 2 digits kept."""
    text = _EMAIL.sub("[email]", text)
    return _DIGIT_RUN.sub(_mask_digits, text)


def _mask_digits(match: re.Match[str]) -> str:
    found = match.group()
    if _DATE_OR_TIME.fullmatch(found):
        return found
    return "*" * 4 + re.sub(r"\D", "", found)[-2:]


class JsonFormatter(logging.Formatter):
    """Write a record as one JSON object: time, level, logger, message (masked), request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": masked(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for key in ("route", "status", "duration_ms", "method", "process_kind"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["error"] = masked(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The same masking for people reading a terminal (LOANLINE_LOG_FORMAT=text)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = REQUEST_ID.get()
        text = masked(super().format(record))
        return f"{text} [request {request_id}]" if request_id else text


# Libraries that would write personal data at INFO (Twilio's client logs each API request with its numbers and
# body; werkzeug's development server the raw path) or SQL parameters: warnings and errors only.
QUIET_LOGGERS = ("twilio", "werkzeug", "sqlalchemy", "urllib3", "aiohttp.access", "aiogram.event")


def configure_logging(fmt: str = "json", level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Send the root logger's records to `stream` (standard error) as JSON or masked text; one handler per process."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, HANDLER_MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stderr)
        setattr(handler, HANDLER_MARK, True)
        root.addHandler(handler)
    elif stream is not None and isinstance(handler, logging.StreamHandler):
        handler.setStream(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    if root.level == logging.NOTSET or root.level > logging.getLevelName(level):
        root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
