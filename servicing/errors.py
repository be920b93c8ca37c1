"""The servicing core's exceptions: one root, one child per refusal a user can see."""

from __future__ import annotations


class ServicingError(Exception):
    """Root of every refusal the servicing core raises."""


class InvalidInput(ServicingError):
    """A value that cannot be accepted (bad amount, bad date, unknown currency)."""


class LoanNotFound(ServicingError):
    """No loan with that number."""

    def __init__(self, loan_number: str) -> None:
        super().__init__(f"unknown loan {loan_number}")
        self.loan_number = loan_number


class LoanClosed(ServicingError):
    """A loan that is paid off or charged off, asked for something only an open loan has."""


class PaymentRefused(ServicingError):
    """A payment that cannot be posted; the reason is the message."""


class DuplicatePayment(PaymentRefused):
    """A payment reference that was already posted."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"duplicate reference {reference}")
        self.reference = reference


class ReversalRefused(ServicingError):
    """A payment that cannot be reversed; the reason is the message."""


class WorkoutRefused(ServicingError):
    """A workout that does not fit the loan; the reason is the message."""


class CaseNotFound(ServicingError):
    """No case with that reference."""


class DocumentNotFound(ServicingError):
    """No such document, or not one the asker may see."""


class DocumentTampered(ServicingError):
    """A kept document's file no longer matches the SHA-256 recorded when it was made."""


class PromiseRefused(ServicingError):
    """A promise to pay that cannot be recorded or cancelled; `rule` names the rule that refused it."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule
