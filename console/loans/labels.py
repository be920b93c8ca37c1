"""What the loan pages call every stored code (ledger entry kinds, statuses, reasons, kinds): one table of labels.

A template says `word("entry_kind", e.kind)`; a code without a label shows as it is stored, so a new code is
never hidden (and the catalogs test lists the labels to translate).
"""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from console.queue.labels import CHANNELS, STATES

WORDS: dict[str, dict[str, LazyString | str]] = {
    "entry_kind": {
        "disbursement": _l("Disbursement"),
        "payment": _l("Payment"),
        "interest_accrual": _l("Interest accrued"),
        "fee_assessed": _l("Fee charged"),
        "fee_waived": _l("Fee waived"),
        "escrow_deposit": _l("Escrow deposit"),
        "escrow_disbursement": _l("Escrow bill paid"),
        "escrow_billed": _l("Escrow shortage billed"),
        "suspense_in": _l("Held in suspense"),
        "suspense_out": _l("Applied from suspense"),
        "curtailment": _l("Extra principal"),
        "reversal": _l("Reversal"),
        "adjustment": _l("Adjustment"),
        "deferral": _l("Deferral"),
        "capitalization": _l("Capitalization"),
        "payoff": _l("Payoff"),
    },
    "loan_status": {"active": _l("Active"), "paid_off": _l("Paid off"), "charged_off": _l("Charged off")},
    "product": {"mortgage": _l("Mortgage"), "personal": _l("Personal loan"), "auto": _l("Auto loan")},
    "payment_status": {"posted": _l("Posted"), "reversed": _l("Reversed")},
    "payment_source": {
        "import": _l("Payment file"),
        "console": _l("Console"),
        "ach": _l("Autopay (ACH)"),
        "scheduled": _l("Scheduled by the borrower"),
        "demo": _l("Demo portfolio"),
    },
    "fee_kind": {"late": _l("Late fee"), "returned_payment": _l("Returned payment fee"), "other": _l("Other fee")},
    "escrow_item": {
        "property_tax": _l("Property tax"),
        "hazard_insurance": _l("Homeowner's insurance"),
        "flood_insurance": _l("Flood insurance"),
        "mortgage_insurance": _l("Mortgage insurance"),
    },
    "escrow_trigger": {"annual": _l("annual"), "on_demand": _l("on demand")},
    "case_kind": {
        "payoff_request": _l("Payoff request"),
        "notice_of_error": _l("Notice of error"),
        "request_for_information": _l("Request for information"),
        "loss_mitigation": _l("Loss mitigation"),
        "early_intervention": _l("Early intervention"),
        "arrears_information": _l("Arrears information"),
        "broken_promise": _l("Broken promise to pay"),
    },
    "case_status": {
        "open": _l("Open"),
        "closed": _l("Closed"),
        "started": _l("Application started"),
        "submitted_incomplete": _l("Application incomplete"),
        "submitted_complete": _l("Application complete"),
        "under_review": _l("Under review"),
        "approved": _l("Approved"),
        "denied": _l("Denied"),
        "appealed": _l("Appealed"),
        "denied_final": _l("Denied after appeal"),
    },
    "deadline": {
        "acknowledge": _l("Acknowledge"),
        "resolve": _l("Resolve"),
        "answer": _l("Answer"),
        "send_statement": _l("Send the statement"),
        "send_information": _l("Send the information"),
        "completeness_notice": _l("Completeness notice"),
        "decision": _l("Decision"),
        "appeal_decision": _l("Appeal decision"),
        "appeal_window": _l("Appeal window"),
        "live_contact": _l("Live contact"),
        "written_notice": _l("Written notice"),
        "follow_up": _l("Follow-up"),
    },
    "workout_kind": {
        "forbearance": _l("Forbearance"),
        "repayment_plan": _l("Repayment plan"),
        "payment_deferral": _l("Payment deferral"),
        "modification": _l("Modification"),
    },
    "workout_status": {
        "active": _l("Active"),
        "completed": _l("Completed"),
        "ended": _l("Ended"),
        "broken": _l("Broken"),
    },
    "action": {
        "payment": _l("Manual payment"),
        "reversal": _l("Payment reversal"),
        "fee_waiver": _l("Fee waiver"),
        "forbearance": _l("Forbearance"),
        "repayment_plan": _l("Repayment plan"),
        "payment_deferral": _l("Payment deferral"),
        "modification": _l("Modification"),
        "escrow_analysis": _l("Escrow analysis"),
    },
    "approval_status": {
        "pending": _l("Waiting for approval"),
        "approved": _l("Approved"),
        "rejected": _l("Rejected"),
        "withdrawn": _l("Withdrawn"),
    },
    "figure": {
        "status": _l("Status"),
        "amount_due": _l("Amount due"),
        "next_due_date": _l("Next due date"),
        "days_past_due": _l("Days past due"),
        "principal_balance": _l("Principal balance"),
        "monthly_payment": _l("Monthly payment (principal and interest)"),
        "escrow_balance": _l("Escrow balance"),
        "suspense_balance": _l("Suspense"),
        "deferred_balance": _l("Deferred balance"),
        "unpaid_fees": _l("Unpaid fees"),
    },
    "bucket": {
        "principal": _l("Principal"),
        "interest": _l("Interest"),
        "escrow": _l("Escrow"),
        "fees": _l("Fees"),
        "suspense": _l("Suspense"),
        "deferred": _l("Deferred"),
    },
    "workout_term": {
        "months": _l("Months"),
        "reduced_payment": _l("Reduced payment"),
        "regular_payment": _l("Regular payment"),
        "arrears": _l("Arrears"),
        "deferred": _l("Deferred"),
        "payment_before": _l("Payment before"),
        "target_payment": _l("Target payment"),
        "first_due_date": _l("First due date"),
    },
    "audit_action": {
        "view": _l("Viewed"),
        "payment.posted": _l("Payment posted"),
        "payment.reversed": _l("Payment reversed"),
        "payment.scheduled": _l("Payment scheduled"),
        "payment.schedule_cancelled": _l("Scheduled payment cancelled"),
        "fee.waived": _l("Fee waived"),
        "workout.decision": _l("Workout decision"),
        "workout.forbearance_placed": _l("Forbearance placed"),
        "workout.forbearance_ended": _l("Forbearance ended"),
        "workout.repayment_plan_started": _l("Repayment plan started"),
        "workout.payments_deferred": _l("Payments deferred"),
        "workout.loan_modified": _l("Loan modified"),
        "escrow.analyzed": _l("Escrow analyzed"),
        "escrow.item_added": _l("Escrow item added"),
        "loan.foreclosure_referred": _l("Referred to foreclosure"),
        "loan.foreclosure_sale_scheduled": _l("Foreclosure sale scheduled"),
        "contact_flag.set": _l("Contact flag set"),
        "contact_flag.cleared": _l("Contact flag cleared"),
        "promise.made": _l("Promise to pay recorded"),
        "promise.cancelled": _l("Promise to pay cancelled"),
        "bank_account.added": _l("Bank account added"),
        "bank_account.removed": _l("Bank account removed"),
        "autopay.enrolled": _l("Autopay started"),
        "autopay.stopped": _l("Autopay stopped"),
        "address.mailing_changed": _l("Mailing address changed"),
        "address.property_changed": _l("Property address changed"),
        "esign.consent_recorded": _l("E-SIGN consent recorded"),
        "esign.consent_revoked": _l("E-SIGN consent revoked"),
        "delivery.preference_set": _l("Delivery preference set"),
        "document.viewed": _l("Document viewed"),
        "document.downloaded": _l("Document downloaded"),
        "document.resent": _l("Document sent again"),
        "document.print_again": _l("Document printed again"),
        "approval.requested": _l("Approval requested"),
        "approval.approved": _l("Approval given"),
        "approval.rejected": _l("Approval refused"),
        "approval.withdrawn": _l("Approval request withdrawn"),
    },
    "conversation_channel": dict(CHANNELS),
    "conversation_state": dict(STATES),
}


def word(category: str, code: str | None) -> str:
    """Return a stored code's label in the specialist's language (the code itself when it has none)."""
    if code is None or code == "":
        return "—"
    return str(WORDS.get(category, {}).get(code, code))


def label_helpers() -> dict[str, object]:
    """Return the template helper that names stored codes."""
    return {"word": word}
