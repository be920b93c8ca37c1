"""What the bot says: one function per intent, and one per answer a conversation is waiting for."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_time, get_timezone_name
from sqlalchemy import select

from bot import nlu
from bot.amounts import find_amount
from bot.consent import answer_consent
from bot.dates import DateMention, find_day, names_a_full_date, names_part_of_a_date, parse_birth_date, read_day
from bot.explaining import FEE_DISPUTE_DROPPED, FEE_DISPUTE_OFFER, explain
from bot.i18n import LANGUAGE_IN_TEXT, LANGUAGE_NAMES, LOCALES, Speaker, catalog_locale, regional_locale, say
from bot.satisfaction import answer_survey
from bot.turn import OutgoingDocument, Reply, Turn
from bot.words import asks_for_autopay, is_no, is_yes, wants_out
from servicing.ach.autopay import AmountKind, AutopayRefused, AutopayTerms, autopay_offer, enrol_autopay
from servicing.cases import CaseIdentity, CaseKind, open_case, request_payoff_statement
from servicing.conversations import (
    Claim,
    EscalationReason,
    borrower_by_phone,
    borrower_claim,
    bot_may_answer,
    claim_locked,
    clear_failed_verifications,
    escalate,
    is_locked,
    is_verified,
    keep_verified,
    loan_number_claim,
    phone_claim,
    record_failed_verification,
)
from servicing.documents.correspondence import Correspondence
from servicing.documents.delivery import (
    EVERY_KIND,
    file_name,
    issue_link,
    kind_title,
    latest_documents,
    record_consent,
    set_preference,
)
from servicing.documents.letters import payoff_statement_for_request
from servicing.documents.records import ELECTRONIC, consent_in_force, read_document
from servicing.errors import InvalidInput, PaymentRefused, PromiseRefused
from servicing.escrow import escrow_summary
from servicing.explanations import Question, fee_label
from servicing.outreach.promises import (
    PromiseRule,
    check_promise,
    check_promised_amount,
    check_promised_date,
    latest_promise_date,
    make_promise,
    most_promised,
    open_promise,
)
from servicing.queries import summarize
from servicing.rules.account import Account, LoanStatus
from servicing.rules.calendar import next_opening
from servicing.rules.factors import Factor, factor_matches
from servicing.rules.payoff import payoff_quote
from servicing.scheduled import (
    MAX_DAYS_AHEAD,
    cancel_scheduled_payment,
    pending_payments,
    posting_day,
    schedule_payment,
)
from servicing.staffing.assignment import someone_on_shift_for
from servicing.store.accounts import load_account_by_id
from servicing.store.models import Borrower, Case, Document, Fee, Loan, Payment

Step = Callable[[Turn], None]
ACCOUNT_INTENTS = frozenset(
    {"balance", "next_payment", "make_payment", "payment_history", "payoff", "escrow", "documents", "promise_to_pay",
     "autopay", "explain_payment", "explain_fee", "explain_payment_change", "explain_late"}
)  # fmt: skip
BY_PHONE = (Factor.DATE_OF_BIRTH,)  # the phone on file (or a shared contact) is the first factor
BY_LOAN_NUMBER = (Factor.DATE_OF_BIRTH, Factor.TAX_ID_LAST4)  # a loan number is no secret: two factors
# Of several questions in one message, those answered outright come first, then the payoff (whose offer of
# another date waits for nothing else), then one that starts a dialogue: its questions wait for answers.
ANSWER_ORDER = {
    "payoff": 1, "explain_fee": 1, "make_payment": 2, "promise_to_pay": 2, "hardship": 2, "dispute": 2, "agent": 2,
    "language": 2, "documents": 2,
}  # fmt: skip
FACTOR_QUESTIONS = {
    Factor.DATE_OF_BIRTH.value: say("To protect your account, please reply with your date of birth."),
    Factor.TAX_ID_LAST4.value: say("To protect your account, please reply with the last 4 digits of your tax ID."),
    Factor.POSTAL_CODE.value: say("To protect your account, please reply with the postal code on your account."),
}
NO_MATCH = say("That doesn't match our records.")
FULL_BIRTH_DATE = say("Please reply with your full date of birth: day, month and year.")
LOCKED = say(
    "For your security, self-service is paused for 30 minutes. A specialist will contact you, or call us at {phone}."
)
PAUSED = say(
    "For your security, self-service for this account is paused for now. Reply AGENT to talk to a person, "
    "or call us at {phone}."
)
MENU = say(
    "I can help with:\n1 Balance\n2 Next payment\n3 Make a payment\n4 Payment history\n5 Payoff amount\n"
    "6 Escrow\n7 Hardship help\n8 Report an error\n9 Talk to a person\nReply with a number or just ask."
)
HARDSHIP_QUESTIONS = (
    ("reason", say("I'm sorry to hear that. What happened? (for example: lost job, illness, divorce, disaster)")),
    ("since", say("Since when has this affected you?")),
    ("duration", say("How long do you expect it to last?")),
    ("income_change", say("How has your monthly income changed?")),
    ("preferred_option", say(
        "What help would suit you best: lower payments for a while, a payment plan, a loan modification, or not sure?"
    )),
)  # fmt: skip
DISPUTE_QUESTIONS = (
    ("what", say("Tell me what is wrong, in your own words.")),
    ("charge", say("Which charge or payment is it about? (date and amount if you have them)")),
)
HISTORY_LENGTH = 3
NAMES_AN_AMOUNT = frozenset({"promise_to_pay", "explain_payment"})  # "I can pay 500...", "where did my 500 go"
OPENING = "opening"  # the intake answer that holds the message which started it
PAYOFF_DAYS = 10  # a payoff figure is good through this many days unless the borrower names a date
PAYOFF_DAYS_AHEAD = 60  # ...which may be up to this many days ahead
PAYOFF_REACH = say("I can quote a payoff for any date from today to {last}.")
ANSWER_LIMIT = 500  # characters kept from each intake answer


def respond(turn: Turn) -> None:
    """Answer one message: a revocation of consent first (even while a person owns it), then quiet while a person
    owns it, refuse when locked, continue a flow, or understand it."""
    if answer_consent(turn):
        return
    if not bot_answers(turn):
        return
    if answer_survey(turn):
        return
    awaiting = turn.flow.get("await")
    if awaiting in WAITING and not wants_out(turn.text):
        WAITING[awaiting](turn)
    else:
        turn.forget()
        understand(turn)
    answer_what_else_was_asked(turn)
    offer_language(turn)


def bot_answers(turn: Turn) -> bool:
    """Run the checks every message meets first; return False when the bot must not answer it.

    While a person owns the conversation the bot is quiet (one acknowledgement); while it is locked it
    only says so; a verified session is kept alive by each message.
    """
    conversation = turn.conversation
    if not bot_may_answer(conversation):
        if not conversation.waiting_acknowledged:
            conversation.waiting_acknowledged = True
            turn.say("Thanks, a specialist has your message and will reply here.")
        return False
    if is_locked(conversation, turn.now):
        turn.say(LOCKED, phone=turn.settings.servicer_phone)
        return False
    if is_verified(conversation, turn.now):
        keep_verified(conversation, turn.now)
    return True


def understand(turn: Turn) -> None:
    """Answer what the text asks (each question, and any date in it); sensitive topics and misses go to a person."""
    if nlu.sensitive_topic(turn.text) is not None:
        hand_off(turn, EscalationReason.SENSITIVE)
        return
    if asks_for_autopay(turn.text):  # a keyword, like AGENT: the NLU has no autopay intent
        turn.conversation.misses = 0
        start_intent(turn, "autopay")
        return
    message = read_message(turn.text, turn.conversation.locale, turn.today)
    first = message.questions[0]
    if first.intent is None:
        not_understood(turn)
        return
    turn.conversation.misses = 0
    intents = sorted((q.intent for q in message.questions if q.intent), key=lambda intent: ANSWER_ORDER.get(intent, 0))
    turn.remember(day_asked=message.day.isoformat() if message.day else None, then=intents[1:] or None,
                  amount_asked=promised_amount(turn) if NAMES_AN_AMOUNT & set(intents) else None)  # fmt: skip
    start_intent(turn, intents[0])
    language = catalog_locale(first.locale)
    if language != catalog_locale(turn.conversation.locale) and not turn.remembered("language_offered"):
        turn.remember(offer_language=language)


@dataclass(frozen=True)
class Message:
    """What a borrower's message asks, in order, and the date it names (for a payoff or a payment)."""

    questions: list[nlu.Classification]
    day: date | None


def read_message(text: str, locale: str, today: date) -> Message:
    """Read a message with and without the date it names, and keep the reading understood better."""
    whole = nlu.questions(text, locale=locale)
    mention = find_day(text, _format_locale(locale), today)
    if mention is None or not mention.rest:
        return Message(whole, None)
    without = nlu.questions(mention.rest, locale=locale)
    # Taking words out is a guess too: the reading without them must be a sure one ("今天几号" less "今天" is "几号",
    # a weak next_payment; "i can pay 450 this friday" less "friday" is a promise at 92).
    sure = without[0].intent is not None and without[0].score >= nlu.QUESTION_SCORE
    better = sure and (whole[0].intent is None or without[0].score >= whole[0].score)
    return Message(without if better else whole, mention.day)


def answer_what_else_was_asked(turn: Turn) -> None:
    """Answer the other questions of a message that asked several, once the one before waits for nothing."""
    conversation = turn.conversation
    while (
        (waiting := turn.remembered("then"))
        and not turn.flow.get("await")
        and bot_may_answer(conversation)
        and not is_locked(conversation, turn.now)
    ):
        turn.remember(then=waiting[1:] or None)
        start_intent(turn, waiting[0])


def day_asked(turn: Turn) -> date | None:
    """Return, once, the date the borrower's question named ("payoff for December 20"), if any."""
    asked = turn.remembered("day_asked")
    turn.remember(day_asked=None)
    return date.fromisoformat(asked) if asked else None


def start_intent(turn: Turn, intent: str) -> None:
    """Answer an intent, verifying first when it touches a loan."""
    if intent in ACCOUNT_INTENTS and not verified_with_loan(turn, intent):
        return
    INTENTS[intent](turn)


def not_understood(turn: Turn) -> None:
    """Say so; the second miss in a row offers a person."""
    turn.conversation.misses += 1
    if turn.conversation.misses >= 2:
        hand_off(turn, EscalationReason.NOT_UNDERSTOOD)
        return
    turn.say("Sorry, I didn't get that. Reply MENU to see what I can do, or AGENT for a person.")


def offer_language(turn: Turn) -> None:
    """Once an answer is given, ask in the language the borrower wrote whether to switch to it."""
    target = turn.remembered("offer_language")
    if not target or turn.flow.get("await") or not bot_may_answer(turn.conversation) or not turn.replies:
        return
    if target == catalog_locale(turn.conversation.locale):
        turn.remember(offer_language=None)
        return
    question = Speaker(target).say("Would you like me to write in {language}? Reply YES or NO.",
                                   language=LANGUAGE_IN_TEXT[target])  # fmt: skip
    turn.replies.append(Reply(question))
    turn.remember(offer_language=None, language_offered=True)  # once per conversation, whatever the answer
    turn.expect("switch_language", to=target)


def switch_language_answer(turn: Turn) -> None:
    """Switch on yes; on anything else carry on in the current language."""
    target = turn.flow.get("to", "en")
    turn.forget()
    if is_yes(turn.text):
        switch_language(turn, target)
        return
    if not is_no(turn.text):
        understand(turn)


def switch_language(turn: Turn, catalog: str) -> None:
    """Speak a language from now on, with money and dates as in the borrower's region (es_US, not es_ES)."""
    turn.conversation.locale = regional_locale(catalog, turn.conversation.locale, turn.settings.country)
    turn.say("OK, I'll write in {language}.", language=LANGUAGE_IN_TEXT[catalog_locale(catalog)])


# -- verification --------------------------------------------------------------------------------------


def verified_with_loan(turn: Turn, intent: str) -> bool:
    """Return True when the borrower is verified and a loan is chosen; otherwise ask for what is missing."""
    if not is_verified(turn.conversation, turn.now):
        ask_to_verify(turn, intent)
        return False
    return loan_chosen(turn, intent)


def ask_to_verify(turn: Turn, intent: str | None) -> None:
    """Ask for a knowledge factor (SMS, linked Telegram chat) or for a way to link the chat."""
    conversation = turn.conversation
    if conversation.channel == "telegram" and conversation.borrower_id is None:
        turn.replies.append(Reply(turn.speaker.say(
            "To link this chat to your loan, tap the button to share your phone number, or type your loan number."
        ), request_contact=True))  # fmt: skip
        turn.expect("link", pending=intent)
        return
    if conversation.borrower_id is not None:
        claims = [borrower_claim(conversation.borrower_id)]
    else:
        claims = [phone_claim(turn.settings.secret_key, conversation.address)]
    ask_for_factors(turn, BY_PHONE, pending=intent, borrower_id=conversation.borrower_id, claims=claims)


def ask_for_factors(
    turn: Turn, factors: tuple[Factor, ...], *, pending: str | None, borrower_id: int | None, claims: list[Claim]
) -> None:
    """Ask for the first of the factors an identity needs, unless failures in other chats paused it."""
    if claim_locked(turn.session, claims, turn.now):
        paused(turn)
        return
    turn.say(FACTOR_QUESTIONS[factors[0].value])
    turn.expect("factor", factors=[factor.value for factor in factors], step=0, matched=True, pending=pending,
                borrower=borrower_id, claims=[list(claim) for claim in claims])  # fmt: skip


def factor_answer(turn: Turn) -> None:
    """Take one factor's answer; once all are in, say whether they match, once, or lock.

    Whether an answer matched is kept (never said) until the last factor is answered, so no factor can
    be guessed on its own: the borrower hears "doesn't match" or is verified only after all of them.
    """
    flow = turn.flow
    factors = [Factor(value) for value in flow.get("factors") or [flow["factor"]]]
    step = int(flow.get("step", 0))
    if factors[step] is Factor.DATE_OF_BIRTH and names_part_of_a_date(turn.text):  # "1972", "08/14": not an attempt
        turn.say(FULL_BIRTH_DATE)
        return
    if not looks_like_an_answer(factors[step], turn.text):  # "thanks", "menu": not an attempt, something else
        turn.forget()
        understand(turn)
        return
    borrower = _borrower(turn, flow.get("borrower"))
    matched = (bool(flow.get("matched", True)) and borrower is not None
               and answer_matches(turn, borrower, factors[step], turn.text))  # fmt: skip
    if step + 1 < len(factors):
        turn.say(FACTOR_QUESTIONS[factors[step + 1].value])
        turn.expect("factor", **{**_slots(flow), "step": step + 1, "matched": matched})
        return
    claims = _claims(flow)
    if claim_locked(turn.session, claims, turn.now, hold=True):  # paused meanwhile by another chat: same words
        paused(turn)
    elif matched:
        assert borrower is not None
        verified(turn, borrower, flow.get("pending"), claims)
    else:
        failed_verification(turn, flow)


def _slots(flow: dict[str, Any]) -> dict[str, Any]:
    """Return what a flow waits with, without the bookkeeping `expect` adds itself."""
    return {name: value for name, value in flow.items() if name not in {"await", "notes"}}


def _claims(flow: dict[str, Any]) -> list[Claim]:
    return [(str(kind), str(key)) for kind, key in flow.get("claims", [])]


def paused(turn: Turn) -> None:
    """Tell a borrower whose identity is locked (by failures in any chat) how to reach a person."""
    turn.forget()
    turn.say(PAUSED, phone=turn.settings.servicer_phone)


def looks_like_an_answer(factor: Factor, text: str) -> bool:
    """Tell whether a text could be an answer to the factor asked (only those count as attempts)."""
    if factor is Factor.DATE_OF_BIRTH:
        return names_a_full_date(text)
    digits = sum(character.isdigit() for character in text)
    if factor is Factor.POSTAL_CODE:
        return 0 < len(text.strip()) <= 12 and any(character.isalnum() for character in text)
    return digits >= 4


def answer_matches(turn: Turn, borrower: Borrower, factor: Factor, answer: str) -> bool:
    """Tell whether an answer matches the stored factor (dates read in the borrower's order)."""
    stored = {
        Factor.DATE_OF_BIRTH: borrower.date_of_birth_hash,
        Factor.TAX_ID_LAST4: borrower.tax_id_last4_hash,
        Factor.POSTAL_CODE: borrower.postal_code_hash,
    }[factor]
    candidate = _iso_date(answer, turn.conversation.locale, turn.today) if factor is Factor.DATE_OF_BIRTH else answer
    return candidate is not None and factor_matches(turn.settings.secret_key, borrower.factor_salt, factor,
                                                    candidate, stored)  # fmt: skip


def _iso_date(text: str, locale: str, today: date) -> str | None:
    born = parse_birth_date(text, _format_locale(locale), today)
    return born.isoformat() if born else None


def _format_locale(locale: str) -> str:
    return locale if "_" in locale else {"en": "en_US", "pt_BR": "pt_BR"}.get(locale, locale)


def failed_verification(turn: Turn, flow: dict[str, Any]) -> None:
    """Count a failure with the same words whether or not the account exists; lock after the third."""
    claims = _claims(flow)
    if record_failed_verification(turn.session, turn.conversation, turn.now, claims):
        turn.forget()
        turn.say(LOCKED, phone=turn.settings.servicer_phone)
        escalate(turn.session, turn.conversation, EscalationReason.LOCKED_OUT, turn.now)
        return
    turn.say(NO_MATCH)
    factors = flow.get("factors") or [flow["factor"]]
    turn.say(FACTOR_QUESTIONS[factors[0]])
    turn.expect("factor", **{**_slots(flow), "factors": factors, "step": 0, "matched": True})


def verified(turn: Turn, borrower: Borrower, pending: str | None, claims: list[Claim]) -> None:
    """Open the verified session, link a Telegram chat, and answer what was asked."""
    conversation = turn.conversation
    conversation.borrower_id = borrower.id
    keep_verified(conversation, turn.now)
    clear_failed_verifications(turn.session, claims)
    turn.forget()
    turn.say("Thanks, you're verified.")
    if pending:
        start_intent(turn, pending)


def link_answer(turn: Turn) -> None:
    """Link a Telegram chat by shared contact (then one factor) or by loan number (then two factors)."""
    pending = turn.flow.get("pending")
    phone = turn.inbound.shared_contact_phone
    secret = turn.settings.secret_key
    if phone:
        borrower = borrower_by_phone(turn.session, phone)
        claims = [borrower_claim(borrower.id)] if borrower else [phone_claim(secret, phone)]
        ask_for_factors(turn, BY_PHONE, pending=pending, borrower_id=borrower.id if borrower else None, claims=claims)
        return
    number = re.sub(r"[^A-Za-z0-9-]", "", turn.text.strip())[:32]
    borrower_id = turn.session.scalar(select(Loan.borrower_id).where(Loan.loan_number == number)) if number else None
    claims = [loan_number_claim(secret, number)] if number else []
    if borrower_id is not None:
        claims.append(borrower_claim(borrower_id))
    ask_for_factors(turn, BY_LOAN_NUMBER, pending=pending, borrower_id=borrower_id, claims=claims)


def _borrower(turn: Turn, borrower_id: Any) -> Borrower | None:
    return turn.session.get(Borrower, int(borrower_id)) if borrower_id else None


# -- choosing a loan -------------------------------------------------------------------------------------


def loan_chosen(turn: Turn, intent: str) -> bool:
    """Return True when the conversation has a loan; ask by last 4 digits when the borrower has several."""
    conversation = turn.conversation
    if conversation.loan_id is not None and _chosen_account(turn, conversation.loan_id) is not None:
        return True
    loans = _loans(turn)
    if len(loans) == 1:
        conversation.loan_id = loans[0].id
        return True
    if not loans:
        turn.say("I couldn't find an open loan for you. Reply AGENT to reach a person.")
        return False
    endings = ", ".join(loan.loan_number[-4:] for loan in loans)
    turn.say("You have several loans. Reply with the last 4 digits of the one you mean: {endings}", endings=endings)
    turn.expect("loan", pending=intent)
    return False


def loan_answer(turn: Turn) -> None:
    """Choose a loan by the last 4 digits of its number."""
    digits = re.sub(r"\D", "", turn.text)[-4:]
    match = [loan for loan in _loans(turn) if loan.loan_number.endswith(digits)] if len(digits) == 4 else []
    if len(match) != 1:
        endings = ", ".join(loan.loan_number[-4:] for loan in _loans(turn))
        turn.say("Please reply with the last 4 digits of one of your loans: {endings}", endings=endings)
        return
    pending = turn.flow.get("pending")
    turn.conversation.loan_id = match[0].id
    turn.forget()
    if pending:
        start_intent(turn, pending)


def _loans(turn: Turn) -> list[Loan]:
    query = (
        select(Loan)
        .where(Loan.borrower_id == turn.conversation.borrower_id, Loan.status == LoanStatus.ACTIVE.value)
        .order_by(Loan.id)
    )
    return list(turn.session.scalars(query))


def _chosen_account(turn: Turn, loan_id: int) -> Account | None:
    """Return the account of the conversation's loan while it is the borrower's and active, else None."""
    borrower_id = turn.conversation.borrower_id
    account = None if borrower_id is None else load_account_by_id(turn.session, loan_id, borrower_id=borrower_id)
    turn.account = account if account is not None and account.status is LoanStatus.ACTIVE else None
    return turn.account


def _account_of(turn: Turn) -> Account:
    """Return the account of the conversation's loan, loaded once per turn."""
    account, loan_id = turn.account, turn.conversation.loan_id
    assert loan_id is not None
    if account is None or account.loan_id != loan_id:
        account = load_account_by_id(turn.session, loan_id)
        assert account is not None
        turn.account = account
    return account


def _account(turn: Turn) -> tuple[Loan, Account]:
    loan = turn.session.get(Loan, turn.conversation.loan_id)
    assert loan is not None
    return loan, _account_of(turn)


# -- answers from the account ---------------------------------------------------------------------------


def balance(turn: Turn) -> None:
    """Principal balance, amount due and due date (or how long it has been past due)."""
    account = _account_of(turn)
    summary = summarize(account, turn.today)
    s = turn.speaker
    values = {
        "ending": account.loan_number[-4:],
        "principal": s.money(summary.principal_balance, account.currency),
        "amount_due": s.money(summary.amount_due, account.currency),
        "due_date": s.day(account.next_due_date),
    }
    if summary.days_past_due > 0:
        turn.say("Loan ending {ending}: principal balance {principal}. Amount due {amount_due}, past due since "
                 "{due_date}.", **values)  # fmt: skip
    else:
        turn.say(
            "Loan ending {ending}: principal balance {principal}. Amount due {amount_due} by {due_date}.", **values
        )
    turn.quote("balance", account.loan_number, account.currency, {
        "principal_balance": summary.principal_balance, "amount_due": summary.amount_due,
        "due_date": account.next_due_date, "days_past_due": summary.days_past_due,
    })  # fmt: skip


def next_payment(turn: Turn) -> None:
    """When the next payment is due and how much it is."""
    account = _account_of(turn)
    summary = summarize(account, turn.today)
    s = turn.speaker
    turn.say(
        "Your next payment of {amount} is due on {due_date}. Your monthly payment is {monthly}.",
        amount=s.money(summary.amount_due, account.currency), due_date=s.day(account.next_due_date),
        monthly=s.money(account.monthly_payment + account.escrow_monthly, account.currency),
    )  # fmt: skip
    turn.quote("next_payment", account.loan_number, account.currency, {
        "amount_due": summary.amount_due, "due_date": account.next_due_date,
        "monthly_payment": account.monthly_payment + account.escrow_monthly, "days_past_due": summary.days_past_due,
    })  # fmt: skip
    if summary.days_past_due > 0:
        turn.say("Days past due: {days}.", days=summary.days_past_due)


def payment_history(turn: Turn) -> None:
    """The last payments received, newest first."""
    loan, account = _account(turn)
    rows = turn.session.execute(
        select(Payment.received_on, Payment.amount, Payment.status)
        .where(Payment.loan_id == loan.id)
        .order_by(Payment.received_on.desc(), Payment.id.desc())
        .limit(HISTORY_LENGTH)
    ).all()
    if not rows:
        turn.say("We have not received any payments on this loan yet.")
        return
    s = turn.speaker
    lines = [
        s.say(say("{date}: {amount}") if status == "posted" else say("{date}: {amount} (returned)"),
              date=s.day(received), amount=s.money(amount, account.currency))
        for received, amount, status in rows
    ]  # fmt: skip
    turn.say("Your last payments:\n{lines}", lines="\n".join(lines))


def payoff(turn: Turn, good_through: date | None = None) -> None:
    """A payoff figure good through the date the borrower names (else in 10 days), with the per diem and a request."""
    loan, account = _account(turn)
    s = turn.speaker
    asked = day_asked(turn)
    if good_through is None and asked is not None:
        if _payoff_day_in_reach(turn, asked):
            good_through = asked
        else:
            turn.say(PAYOFF_REACH, last=s.day(turn.today + timedelta(days=PAYOFF_DAYS_AHEAD)))
    through = good_through or turn.today + timedelta(days=PAYOFF_DAYS)
    quote = payoff_quote(account, turn.today, through)
    turn.say(
        "To pay off your loan, send {total} by {good_through}. After that, add {per_diem} for each day.",
        total=s.money(quote.total, account.currency), good_through=s.day(through),
        per_diem=s.money(quote.per_diem, account.currency),
    )  # fmt: skip
    turn.quote("payoff", account.loan_number, account.currency,
               {"payoff_total": quote.total, "good_through": through, "per_diem": quote.per_diem})  # fmt: skip
    request = request_payoff_statement(turn.session, loan_id=loan.id, borrower_id=loan.borrower_id,
                                       good_through=through, opened_on=turn.today, country=turn.settings.country,
                                       source=turn.conversation.channel, actor="bot")  # fmt: skip
    case = request.case
    if request.opened:  # the written statement is made now, meeting its clock (Reg Z 1026.36(c)(3))
        payoff_statement_for_request(turn.session, Correspondence.from_settings(turn.settings), case, on=turn.today,
                                     actor="bot")  # fmt: skip
    assert case.due_on is not None
    if request.opened:
        turn.say("Your written payoff statement (reference {reference}) will be sent by {due}.",
                 reference=case.reference, due=s.day(case.due_on))  # fmt: skip
    else:
        turn.say("You have already asked for a payoff statement good through {good_through}: reference {reference}, "
                 "to be sent by {due}.", good_through=s.day(through), reference=case.reference,
                 due=s.day(case.due_on))  # fmt: skip
    if not turn.remembered("then"):  # another question of the same message comes first
        turn.say("Reply with another date for a different payoff figure.")
        turn.expect("payoff_date")


def payoff_date_answer(turn: Turn) -> None:
    """Quote again for the date the borrower chose, or move on to what else they wrote."""
    mention = read_day(turn.text, _format_locale(turn.conversation.locale), turn.today)
    if mention is None or _asks_something_else(turn, mention, "payoff"):
        turn.forget()
        understand(turn)
        return
    if not _payoff_day_in_reach(turn, mention.day):
        turn.say(PAYOFF_REACH, last=turn.speaker.day(turn.today + timedelta(days=PAYOFF_DAYS_AHEAD)))
        return
    payoff(turn, mention.day)


def _payoff_day_in_reach(turn: Turn, day: date) -> bool:
    return turn.today <= day <= turn.today + timedelta(days=PAYOFF_DAYS_AHEAD)


def _asks_something_else(turn: Turn, mention: DateMention, intent: str) -> bool:
    """Tell whether the words around a date ask another question ("balance as of today" is not a payoff date)."""
    if not mention.rest:
        return False
    other = nlu.classify(mention.rest, locale=turn.conversation.locale).intent
    return other is not None and other != intent


def escrow(turn: Turn) -> None:
    """Escrow balance, the last bill paid and the next one due."""
    loan, account = _account(turn)
    summary = escrow_summary(turn.session, loan.loan_number)
    s = turn.speaker
    if not summary.has_escrow:
        turn.say("This loan has no escrow account: you pay taxes and insurance yourself.")
        return
    turn.say("Your escrow balance is {balance}.", balance=s.money(summary.balance, account.currency))
    turn.quote("escrow", account.loan_number, account.currency, {"escrow_balance": summary.balance})
    if summary.last_disbursement is not None:
        paid = summary.last_disbursement
        turn.say(
            "Last paid from escrow: {amount} to {payee} on {date}.",
            amount=s.money(paid.amount, account.currency), payee=paid.payee or "-", date=s.day(paid.paid_on),
        )  # fmt: skip
    if summary.next_disbursement is not None:
        bill = summary.next_disbursement
        turn.say("Next: {amount} to {payee} due {date}.", amount=s.money(bill.amount, account.currency),
                 payee=bill.payee, date=s.day(bill.next_due_date))  # fmt: skip


# -- making a payment -----------------------------------------------------------------------------------------


def make_payment(turn: Turn) -> None:
    """Show what is due and ask when to take it from the bank account on file."""
    loan, account = _account(turn)
    s = turn.speaker
    if not loan.bank_account_last4:
        turn.say("There is no bank account on file for this loan. Reply AGENT and a specialist will help you pay.")
        return
    pending = pending_payments(turn.session, loan.loan_number)
    if pending:
        first = pending[0]
        turn.say("You already have {amount} scheduled for {date}. Reply NO to cancel it, or YES to keep it.",
                 amount=s.money(first.amount, account.currency), date=s.day(first.scheduled_for))  # fmt: skip
        turn.expect("keep_scheduled", reference=first.reference)
        return
    amount = summarize(account, turn.today).amount_due
    if amount <= 0:
        amount = account.monthly_payment + account.escrow_monthly
    asked = day_asked(turn)
    if asked is not None and _payable_on(turn, asked):  # "I want to pay on friday": no need to ask when
        confirm_payment(turn, loan, account, amount, asked)
        return
    turn.say("Your amount due is {amount}. On what date should we take it from your account ending {last4}? "
             "(for example: Friday, tomorrow, the 15th)",
             amount=s.money(amount, account.currency), last4=loan.bank_account_last4)  # fmt: skip
    turn.expect("payment_date", amount=str(amount))


def payment_date_answer(turn: Turn) -> None:
    """Read the date and ask for an explicit confirmation."""
    loan, account = _account(turn)
    mention = read_day(turn.text, _format_locale(turn.conversation.locale), turn.today)
    if mention is None or not _payable_on(turn, mention.day):
        turn.say("Please reply with a date in the next 60 days, for example Friday, tomorrow or the 15th.")
        return
    confirm_payment(turn, loan, account, Decimal(turn.flow["amount"]), mention.day)


def _payable_on(turn: Turn, day: date) -> bool:
    return turn.today <= day <= turn.today + timedelta(days=MAX_DAYS_AHEAD)


def confirm_payment(turn: Turn, loan: Loan, account: Account, amount: Decimal, pay_on: date) -> None:
    """Say what will be taken, when, and when it posts if that day is no business day; ask for a yes."""
    s = turn.speaker
    tell_when_it_posts(turn, pay_on)
    turn.say("Please confirm: {amount} from your account ending {last4} on {date}. Reply YES to confirm or NO.",
             amount=s.money(amount, account.currency), last4=loan.bank_account_last4,
             date=s.day(pay_on))  # fmt: skip
    turn.expect("payment_confirm", amount=str(amount), date=pay_on.isoformat())


def tell_when_it_posts(turn: Turn, pay_on: date) -> None:
    """Say on which business day a payment for a weekend or holiday posts (credited as of its own date)."""
    posts = posting_day(pay_on, turn.settings.country)
    if posts != pay_on:
        turn.say("{date} is not a business day: the payment will post on {posts}, credited as of {date}.",
                 date=turn.speaker.day(pay_on), posts=turn.speaker.day(posts))  # fmt: skip


def payment_confirm_answer(turn: Turn) -> None:
    """Schedule the payment only on an explicit yes."""
    flow = turn.flow
    if is_no(turn.text):
        turn.forget()
        turn.say("OK, no payment was scheduled.")
        return
    if not is_yes(turn.text):
        turn.say("Please reply YES to confirm the payment or NO to drop it.")
        return
    loan, account = _account(turn)
    pay_on = date.fromisoformat(flow["date"])
    turn.forget()
    try:
        scheduled = schedule_payment(turn.session, loan.loan_number, amount=Decimal(flow["amount"]), pay_on=pay_on,
                                     today=turn.today, via=turn.conversation.channel, actor="bot")  # fmt: skip
    except PaymentRefused:
        turn.say("Sorry, that payment could not be scheduled. Reply AGENT to reach a person.")
        return
    turn.say("Done: {amount} will be taken on {date}. Reference {reference}.",
             amount=turn.speaker.money(scheduled.amount, account.currency), date=turn.speaker.day(pay_on),
             reference=scheduled.reference)  # fmt: skip
    tell_when_it_posts(turn, pay_on)


def keep_scheduled_answer(turn: Turn) -> None:
    """Cancel a scheduled payment on no; keep it on yes."""
    reference = turn.flow["reference"]
    if is_no(turn.text):
        turn.forget()
        try:
            cancel_scheduled_payment(turn.session, reference, today=turn.today, actor="bot")
        except PaymentRefused:
            turn.say("That payment is due today and can no longer be cancelled.")
            return
        turn.say("Your scheduled payment {reference} is cancelled.", reference=reference)
        return
    turn.forget()
    if is_yes(turn.text):
        turn.say("OK, your scheduled payment stays as it is.")
        return
    understand(turn)


# -- documents: copies on request, electronic delivery with an E-SIGN consent -------------------------------------

DOCUMENTS_LISTED = 5
NO_DOCUMENTS = say("There are no documents for your loan ending in {ending} yet.")
WHICH_DOCUMENT = say("Which document would you like? Reply with its number.")
PICK_AGAIN = say("Please reply with the number of one of the documents listed.")
HERE_IS = say("Here is your document: {title}, {date}.")
HERE_IS_LINK = say(
    "Here is your document: {title}, {date}. Open this link within 24 hours to download it (it works once): {link}"
)
PAPERLESS_OFFER = say(
    "Would you like to receive your documents electronically from now on, instead of on paper? Reply YES to read "
    "how it works, or NO."
)
ESIGN_DISCLOSURE = say(
    "Before you choose: 1) Your statements, notices and letters about your loans will come to you here, as PDF files "
    "(on SMS, as a link to download them), instead of on paper. 2) You can withdraw this consent at any time, free of "
    "charge, by calling {phone} or replying AGENT; paper starts again with the next document. 3) You can ask for a "
    "paper copy of any document at any time, free of charge, by calling {phone}. 4) You need a phone or computer "
    "that can open PDF files (a PDF reader) and can keep or print them. 5) If your phone number changes, tell us at "
    "{phone}."
)
ESIGN_QUESTION = say(
    "Reply YES if you could open the document we just sent and you agree to receive your documents electronically, "
    "or NO to keep paper."
)
ESIGN_DONE = say(
    "Done: from now on your documents come to you here, electronically. To go back to paper, call {phone} or reply "
    "AGENT."
)
PAPER_KEPT = say("OK, your documents keep coming on paper.")
# What the consent's record says the borrower was shown and answered (the disclosure's text is ESIGN_DISCLOSURE).
ESIGN_EVIDENCE = "E-SIGN disclosure v1 ({locale}) shown on {channel}; answered {answer!r} after document {document}"


def documents(turn: Turn) -> None:
    """List the loan's latest documents to choose from, or send the only one there is."""
    loan, _ = _account(turn)
    found = latest_documents(turn.session, loan.id, DOCUMENTS_LISTED)
    if not found:
        turn.say(NO_DOCUMENTS, ending=loan.loan_number[-4:])
        return
    if len(found) == 1:
        send_document(turn, loan, found[0])
        return
    s = turn.speaker
    options = tuple(
        (f"{s.say(kind_title(document.kind))}, {s.day(document.business_date)}", f"doc:{document.id}")
        for document in found
    )
    turn.replies.append(Reply(s.say(WHICH_DOCUMENT), options))
    turn.expect("document_pick", documents=[document.id for document in found])


def document_pick_answer(turn: Turn) -> None:
    """Send the document chosen by its number (SMS) or its button (Telegram); anything else is a new question."""
    listed = [int(number) for number in turn.flow.get("documents", [])]
    text = turn.text.strip()
    chosen: int | None = None
    if text.isdigit() and 1 <= int(text) <= len(listed):
        chosen = listed[int(text) - 1]
    elif text.startswith("doc:") and text[4:].isdigit() and int(text[4:]) in listed:
        chosen = int(text[4:])
    if chosen is None:
        turn.forget()
        understand(turn)
        return
    turn.forget()
    loan, _ = _account(turn)
    document = turn.session.get(Document, chosen)
    if document is None or document.loan_id != loan.id:  # listed for another loan than the one now chosen
        turn.say(PICK_AGAIN)
        return
    send_document(turn, loan, document)


def send_document(turn: Turn, loan: Loan, document: Document) -> None:
    """Hand a document over: a file on Telegram, a single-use link elsewhere; then offer electronic delivery."""
    s = turn.speaker
    title, day = s.say(kind_title(document.kind)), s.day(document.business_date)
    channel = turn.conversation.channel
    if channel == "telegram":
        data = read_document(turn.settings.documents_dir, document)
        outgoing = OutgoingDocument(document.id, file_name(document, loan.loan_number[-4:]), data)
        turn.replies.append(Reply(s.say(HERE_IS, title=title, date=day), document=outgoing))
    else:
        link = issue_link(turn.session, document, channel=channel, now=turn.now, base_url=turn.settings.public_url)
        turn.say(HERE_IS_LINK, title=title, date=day, link=link)
    offer_paperless(turn, document)


def offer_paperless(turn: Turn, document: Document) -> None:
    """Once per conversation, offer electronic delivery to a borrower who has no E-SIGN consent in force."""
    borrower_id = turn.conversation.borrower_id
    if borrower_id is None or turn.remembered("paperless_offered") or turn.remembered("then"):
        return
    if consent_in_force(turn.session, borrower_id) is not None or document.delivery == ELECTRONIC:
        return
    turn.remember(paperless_offered=True)
    turn.say(PAPERLESS_OFFER)
    turn.expect("paperless_offer", document=document.id)


def paperless_offer_answer(turn: Turn) -> None:
    """On yes, show the E-SIGN disclosure and ask for the consent; on no, keep paper."""
    document = turn.flow.get("document")
    if is_yes(turn.text):
        turn.say(ESIGN_DISCLOSURE, phone=turn.settings.servicer_phone)
        turn.say(ESIGN_QUESTION)
        turn.expect("esign_consent", document=document)
        return
    turn.forget()
    if is_no(turn.text):
        turn.say(PAPER_KEPT)
        return
    understand(turn)


def esign_consent_answer(turn: Turn) -> None:
    """Record the E-SIGN consent and choose electronic delivery for every kind, only on an explicit yes."""
    flow = turn.flow
    turn.forget()
    borrower_id = turn.conversation.borrower_id
    if not is_yes(turn.text) or borrower_id is None or not is_verified(turn.conversation, turn.now):
        if is_no(turn.text):
            turn.say(PAPER_KEPT)
        else:
            understand(turn)
        return
    channel = turn.conversation.channel
    evidence = ESIGN_EVIDENCE.format(locale=turn.conversation.locale, channel=channel, answer=turn.text.strip()[:20],
                                     document=flow.get("document"))  # fmt: skip
    if consent_in_force(turn.session, borrower_id) is None:
        record_consent(turn.session, borrower_id, actor="bot", method=channel, evidence=evidence, now=turn.now)
    set_preference(turn.session, borrower_id, EVERY_KIND, ELECTRONIC, actor="bot", now=turn.now)
    turn.say(ESIGN_DONE, phone=turn.settings.servicer_phone)


# -- promises to pay --------------------------------------------------------------------------------------

PAYING = frozenset({"promise_to_pay", "make_payment"})  # a promise's amount and date said with paying words
PROMISE_ASK = say("How much can you pay, and by what date? For example: 500 on Friday.")
PROMISE_ASK_AMOUNT = say("How much can you pay by {date}?")
PROMISE_ASK_DATE = say("By what date can you pay {amount}? (for example: Friday, tomorrow, the 15th)")
PROMISE_CONFIRM = say("Please confirm: you promise to pay {amount} by {date}. Reply YES to confirm or NO.")
PROMISE_REFUSALS = {  # what the borrower is told when a rule refuses the promise, and which part they must say again
    PromiseRule.AMOUNT_NOT_POSITIVE: ("amount", say("Please tell me an amount more than zero.")),
    PromiseRule.AMOUNT_NOT_MONEY: ("amount", say("Please write the amount as digits, for example {example}.")),
    PromiseRule.AMOUNT_OVER_PAYOFF: ("amount", say(
        "That is more than the {payoff} it takes to pay off your loan by {date}. Please tell me a smaller amount."
    )),
    PromiseRule.DATE_PASSED: ("date", say("That date has passed. Please tell me a date from today to {last}.")),
    PromiseRule.DATE_TOO_FAR: ("date", say(
        "A promise can be for a date up to {last}. Please tell me a date from today to {last}."
    )),
}  # fmt: skip


def promised_amount(turn: Turn) -> str | None:
    """Return the amount a message offers to pay ("I can pay 500 on Friday"), kept as a note until it is verified."""
    amount = find_amount(turn.text, _format_locale(turn.conversation.locale), turn.today)
    return None if amount is None else str(amount)


def promise_to_pay(turn: Turn) -> None:
    """Take a promise to pay: the amount and date the borrower named, or ask for them; one open promise a loan."""
    loan, account = _account(turn)
    asked = turn.remembered("amount_asked")
    turn.remember(amount_asked=None)
    day = day_asked(turn)
    current = open_promise(turn.session, loan.id)
    if current is not None:
        s = turn.speaker
        turn.say("You already promised to pay {amount} by {date}. To change it, reply AGENT to talk to a specialist.",
                 amount=s.money(current.amount, account.currency), date=s.day(current.promised_for))  # fmt: skip
        return
    ask_promise(turn, account, Decimal(asked) if asked is not None else None, day)


def ask_promise(turn: Turn, account: Account, amount: Decimal | None, day: date | None) -> None:
    """Ask for what the promise still lacks, say why a part cannot be, or ask the borrower to confirm it."""
    s, currency = turn.speaker, account.currency
    try:
        if amount is not None:
            check_promised_amount(account, amount)
        if day is not None:
            check_promised_date(day, turn.today)
        if amount is not None and day is not None:
            check_promise(account, amount, day, turn.today)
    except PromiseRefused as refused:
        refuse_promise(turn, account, refused, amount, day)
        return
    slots = {"amount": None if amount is None else str(amount), "date": None if day is None else day.isoformat()}
    if amount is not None and day is not None:
        turn.say(PROMISE_CONFIRM, amount=s.money(amount, currency), date=s.day(day))
        turn.expect("promise_confirm", **slots)
        return
    if day is not None:
        turn.say(PROMISE_ASK_AMOUNT, date=s.day(day))
    elif amount is not None:
        turn.say(PROMISE_ASK_DATE, amount=s.money(amount, currency))
    else:
        turn.say(PROMISE_ASK)
    turn.expect("promise", **slots)


def refuse_promise(
    turn: Turn, account: Account, refused: PromiseRefused, amount: Decimal | None, day: date | None
) -> None:
    """Say which rule a promise breaks and wait for that part again, keeping the other."""
    if refused.rule not in PROMISE_REFUSALS:
        turn.forget()
        turn.say("Sorry, your promise could not be recorded. Reply AGENT to reach a person.")
        return
    part, message = PROMISE_REFUSALS[PromiseRule(refused.rule)]
    s, today = turn.speaker, turn.today
    reachable = today if day is None else min(max(day, today), latest_promise_date(today))
    turn.say(message, example=s.money(Decimal(500), account.currency), date=s.day(reachable),
             payoff=s.money(most_promised(account, reachable, today), account.currency),
             last=s.day(latest_promise_date(today)))  # fmt: skip
    kept_amount = None if part == "amount" or amount is None else str(amount)
    kept_day = None if part == "date" or day is None else day.isoformat()
    turn.expect("promise", amount=kept_amount, date=kept_day)


def promise_answer(turn: Turn) -> None:
    """Read the amount and date of a promise from a reply; a reply that names neither asks something else."""
    flow, locale = turn.flow, _format_locale(turn.conversation.locale)
    amount = Decimal(flow["amount"]) if flow.get("amount") else None
    day = date.fromisoformat(flow["date"]) if flow.get("date") else None
    said = find_amount(turn.text, locale, turn.today)
    mention = find_day(turn.text, locale, turn.today)
    if amount is not None and day is None and mention is None:  # the date was asked: "15", "fri" name it alone
        alone = read_day(turn.text, locale, turn.today)
        if alone is not None:
            mention, said = alone, None
    if (said is None and mention is None) or _asks_other_than_paying(turn, mention):
        turn.forget()
        understand(turn)
        return
    _, account = _account(turn)
    ask_promise(turn, account, said if said is not None else amount, mention.day if mention else day)


def _asks_other_than_paying(turn: Turn, mention: DateMention | None) -> bool:
    """Tell whether the words around a date ask something other than paying ("balance as of friday")."""
    if mention is None or not mention.rest:
        return False
    other = nlu.classify(mention.rest, locale=turn.conversation.locale).intent
    return other is not None and other not in PAYING


def promise_confirm_answer(turn: Turn) -> None:
    """Record the promise only on an explicit yes, and say what happens next."""
    flow = turn.flow
    if is_no(turn.text):
        turn.forget()
        turn.say("OK, no promise was recorded.")
        return
    if not is_yes(turn.text):
        turn.say("Please reply YES to record your promise or NO to drop it.")
        return
    loan, account = _account(turn)
    amount, day = Decimal(flow["amount"]), date.fromisoformat(flow["date"])
    turn.forget()
    try:
        make_promise(turn.session, loan.loan_number, amount=amount, promised_for=day, today=turn.today,
                     channel=turn.conversation.channel, actor="bot")  # fmt: skip
    except PromiseRefused as refused:
        if refused.rule == PromiseRule.ALREADY_OPEN:
            promise_to_pay(turn)  # recorded meanwhile on another channel: say which
        else:
            refuse_promise(turn, account, refused, amount, day)
        return
    s = turn.speaker
    turn.say("Thank you. Your promise to pay {amount} by {date} is recorded.", amount=s.money(amount, account.currency),
             date=s.day(day))  # fmt: skip
    turn.say("Payments we receive by {last_day} count toward it, and we will hold past-due reminders until then. If "
             "the amount has not arrived by then, a specialist will contact you. Reply 3 to make a payment now.",
             last_day=s.day(day + timedelta(days=loan.late_fee_grace_days)))  # fmt: skip


# -- autopay (docs/ach.md): the authorization shown, recorded on an explicit yes -----------------------------


def autopay(turn: Turn) -> None:
    """Show the autopay authorization for the amount due on each due date and ask for an explicit yes."""
    loan, _ = _account(turn)
    settings = turn.settings
    terms = AutopayTerms(AmountKind.DUE)
    try:
        offer = autopay_offer(turn.session, loan.loan_number, terms, servicer=settings.servicer_name,
                              phone=settings.servicer_phone, language=turn.conversation.locale)  # fmt: skip
    except AutopayRefused as refused:
        if "already on" in str(refused):
            turn.say("Autopay is already on for this loan. Reply AGENT to change or stop it with a specialist.")
        elif "no bank account" in str(refused):
            turn.say("There is no bank account on file for this loan. Reply AGENT and a specialist will help you pay.")
        else:
            turn.say("Autopay can't be set up for this loan here. Reply AGENT to reach a person.")
        return
    turn.replies.append(Reply(offer.text))
    turn.say("Reply YES to authorize these automatic payments, or NO.")
    turn.expect("autopay_confirm", shown=hashlib.sha256(offer.text.encode()).hexdigest())


def autopay_confirm_answer(turn: Turn) -> None:
    """Enrol on an explicit yes, recording the authorization exactly as shown; nothing on no."""
    if is_no(turn.text):
        turn.forget()
        turn.say("OK, autopay was not set up.")
        return
    if not is_yes(turn.text):
        turn.say("Please reply YES to authorize autopay or NO to drop it.")
        return
    shown = turn.flow["shown"]
    turn.forget()
    loan, _ = _account(turn)
    terms = AutopayTerms(AmountKind.DUE)
    try:
        offer = autopay_offer(turn.session, loan.loan_number, terms, servicer=turn.settings.servicer_name,
                              phone=turn.settings.servicer_phone, language=turn.conversation.locale)  # fmt: skip
        if hashlib.sha256(offer.text.encode()).hexdigest() != shown:
            raise AutopayRefused("the authorization changed since it was shown")
        enrol_autopay(turn.session, offer, terms, channel=turn.conversation.channel, actor="bot", now=turn.now,
                      send_copy=False)  # fmt: skip
    except (AutopayRefused, InvalidInput):
        turn.say("Sorry, autopay could not be set up. Reply AGENT to reach a person.")
        return
    turn.say("Done: autopay is on. Please keep this copy of your authorization, recorded {date}: {text}",
             date=turn.speaker.day(turn.today), text=offer.text)  # fmt: skip


# -- intake: hardship and disputes -------------------------------------------------------------------------


def hardship(turn: Turn) -> None:
    """Start the hardship intake: five questions, then a loss-mitigation application and a person."""
    turn.say(HARDSHIP_QUESTIONS[0][1])
    turn.expect("hardship", step=0, answers=_opening(turn))


def hardship_answer(turn: Turn) -> None:
    """Record an answer and ask the next question, or open the application."""
    _intake_answer(turn, "hardship", HARDSHIP_QUESTIONS, _open_hardship_case)


def dispute(turn: Turn) -> None:
    """Start the dispute intake: what is wrong and which charge, then a notice of error and a person."""
    turn.say(DISPUTE_QUESTIONS[0][1])
    turn.expect("dispute", step=0, answers=_opening(turn))


def _opening(turn: Turn) -> dict[str, str]:
    """Keep the message that started an intake: it is the borrower's own description (a menu number is not)."""
    text = turn.text.strip()[:ANSWER_LIMIT]
    return {OPENING: text} if text and not text.isdigit() else {}


def dispute_answer(turn: Turn) -> None:
    """Record an answer and ask the next question, or open the notice of error."""
    _intake_answer(turn, "dispute", DISPUTE_QUESTIONS, _open_dispute_case)


def _intake_answer(
    turn: Turn, name: str, questions: tuple[tuple[str, str], ...], finish: Callable[[Turn, dict[str, str]], None]
) -> None:
    flow = turn.flow
    step = int(flow.get("step", 0))
    answers = {**flow.get("answers", {}), questions[step][0]: turn.text.strip()[:ANSWER_LIMIT]}
    if step + 1 < len(questions):
        turn.say(questions[step + 1][1])
        turn.expect(name, step=step + 1, answers=answers)
        return
    turn.forget()
    finish(turn, answers)


def _open_intake_case(
    turn: Turn, kind: CaseKind, answers: dict[str, str], description: str, extra: dict[str, Any] | None = None
) -> Case:
    """Open the case an intake leads to, linked to the borrower and loan the conversation knows.

    A verified borrower's case is theirs. Before verification, the borrower whose phone is on file (or whose
    Telegram chat was linked) is still linked, marked "identity not verified" for a specialist to confirm.
    """
    conversation = turn.conversation
    data: dict[str, Any] = {"intake": answers, "conversation_id": conversation.id, **(extra or {})}
    loan_id, borrower_id = None, conversation.borrower_id
    if borrower_id is not None:
        loans = _loans(turn)
        loan_id = conversation.loan_id or (loans[0].id if len(loans) == 1 else None)
        if not is_verified(conversation, turn.now):
            data["identity"] = CaseIdentity.NOT_VERIFIED.value
    return open_case(turn.session, kind, opened_on=turn.today, country=turn.settings.country,
                     source=conversation.channel, actor="bot", loan_id=loan_id, borrower_id=borrower_id,
                     summary=intake_summary(answers, description), data=data)  # fmt: skip


def intake_summary(answers: dict[str, str], description: str) -> str:
    """Return a case's summary in the borrower's words: what they wrote to start, then what they described."""
    parts = [answers.get(OPENING, ""), answers.get(description, "")]
    return " — ".join(dict.fromkeys(part for part in parts if part))


def _open_hardship_case(turn: Turn, answers: dict[str, str]) -> None:
    case = _open_intake_case(turn, CaseKind.LOSS_MITIGATION, answers, "reason")
    assert case.due_on is not None
    turn.say("Thank you. Your hardship request {reference} is open. A specialist will review it and contact you "
             "by {due}.", reference=case.reference, due=turn.speaker.day(case.due_on))  # fmt: skip
    hand_off(turn, EscalationReason.HARDSHIP, announce=False)


def _open_dispute_case(turn: Turn, answers: dict[str, str], extra: dict[str, Any] | None = None) -> None:
    case = _open_intake_case(turn, CaseKind.NOTICE_OF_ERROR, answers, "what", extra)
    deadlines = {d.name: d.due_on for d in case.deadlines}
    turn.say("Your notice of error {reference} is recorded. We will acknowledge it by {acknowledge} and resolve it "
             "by {resolve}.", reference=case.reference, acknowledge=turn.speaker.day(deadlines["acknowledge"]),
             resolve=turn.speaker.day(deadlines["resolve"]))  # fmt: skip
    hand_off(turn, EscalationReason.DISPUTE, announce=False)


# -- people, language, menu, small talk ------------------------------------------------------------------------


def hand_off(turn: Turn, reason: EscalationReason, announce: bool = True) -> None:
    """Put the conversation in the specialists' queue and tell the borrower when to expect a reply."""
    escalate(turn.session, turn.conversation, reason, turn.now)
    turn.conversation.waiting_acknowledged = True
    turn.forget()
    opening = next_opening(turn.now, turn.settings.business_hours, turn.settings.timezone, turn.settings.country)
    if opening is None or someone_on_shift_for(turn.session, turn.conversation):
        if announce:
            turn.say("I'm passing you to a specialist, who will reply here shortly.")
        else:
            turn.say("A specialist will reply here shortly.")
        return
    locale = turn.speaker.format_locale
    when = (f"{format_date(opening.date(), 'full', locale=locale)}, {format_time(opening, 'short', locale=locale)} "
            f"({get_timezone_name(opening, width='long', locale=locale)})")  # fmt: skip
    turn.say("Our specialists are away right now. One will reply here from {when}.", when=when)


def agent(turn: Turn) -> None:
    """Hand off to a person because the borrower asked."""
    hand_off(turn, EscalationReason.ASKED)


def language(turn: Turn) -> None:
    """Switch to the language asked for, or list the choices."""
    wanted = nlu.requested_locale(turn.text)
    if wanted is None:
        names = "\n".join(f"{n} {LANGUAGE_NAMES[code]}" for n, code in enumerate(LOCALES, start=1))
        turn.say("Which language? Reply with its number:\n{names}", names=names)
        turn.expect("language_pick")
        return
    switch_language(turn, wanted)


def language_pick_answer(turn: Turn) -> None:
    """Switch to the language chosen by number or by name."""
    text = turn.text.strip()
    wanted = LOCALES[int(text) - 1] if text.isdigit() and 1 <= int(text) <= len(LOCALES) else nlu.requested_locale(text)
    turn.forget()
    if wanted is None:
        understand(turn)
        return
    switch_language(turn, wanted)


def help_menu(turn: Turn) -> None:
    """List what the bot can do, numbered."""
    turn.say(MENU)


def greeting(turn: Turn) -> None:
    """Greet and offer the menu."""
    turn.say("Hi! I'm the virtual assistant of {servicer}.", servicer=turn.settings.servicer_name)
    turn.say(MENU)


def thanks(turn: Turn) -> None:
    """Answer thanks."""
    turn.say("You're welcome! Anything else? Reply MENU to see options.")


# -- explanations (issue 18, bot/explaining.py): the ledger read back to the borrower -------------------------------


def explain_payment(turn: Turn) -> None:
    """Say how the last payment (or the one named by date or amount) was applied."""
    explain(turn, Question.PAYMENT)


def explain_fee(turn: Turn) -> None:
    """Explain each open or recent fee, then offer a notice of error naming the newest one."""
    explanation = explain(turn, Question.FEE)
    if explanation.fee_ids and not turn.remembered("then"):
        turn.say(FEE_DISPUTE_OFFER)
        turn.expect("fee_dispute", fee=explanation.fee_ids[0])


def explain_payment_change(turn: Turn) -> None:
    """Explain the escrow analysis, modification or repayment plan's end behind the payment's change."""
    explain(turn, Question.PAYMENT_CHANGE)


def explain_late(turn: Turn) -> None:
    """Explain why the loan is past due, what brings it current and the options."""
    explain(turn, Question.LATE)


def fee_dispute_answer(turn: Turn) -> None:
    """On yes, ask what is wrong with the fee; on no, record nothing; anything else is a new question."""
    fee = turn.flow.get("fee")
    if is_yes(turn.text):
        turn.say(DISPUTE_QUESTIONS[0][1])
        turn.expect("fee_dispute_what", fee=fee)
        return
    turn.forget()
    if is_no(turn.text):
        turn.say(FEE_DISPUTE_DROPPED)
        return
    understand(turn)


def fee_dispute_what_answer(turn: Turn) -> None:
    """Open the notice of error in the borrower's words, naming the fee explained, and hand it to a person."""
    fee = turn.session.get(Fee, int(turn.flow["fee"]))
    turn.forget()
    answers = {"what": turn.text.strip()[:ANSWER_LIMIT]}
    extra: dict[str, Any] = {}
    if fee is not None and fee.loan_id == turn.conversation.loan_id:
        answers |= {OPENING: fee_label(fee), "charge": fee_label(fee)}  # the summary names the fee first
        extra = {"fee_id": fee.id}
    _open_dispute_case(turn, answers, extra)


INTENTS: dict[str, Step] = {
    "balance": balance,
    "next_payment": next_payment,
    "make_payment": make_payment,
    "payment_history": payment_history,
    "payoff": payoff,
    "escrow": escrow,
    "documents": documents,
    "hardship": hardship,
    "dispute": dispute,
    "agent": agent,
    "language": language,
    "help": help_menu,
    "greeting": greeting,
    "thanks": thanks,
    "promise_to_pay": promise_to_pay,
    "autopay": autopay,
    "explain_payment": explain_payment,
    "explain_fee": explain_fee,
    "explain_payment_change": explain_payment_change,
    "explain_late": explain_late,
}
WAITING: dict[str, Step] = {
    "factor": factor_answer,
    "link": link_answer,
    "loan": loan_answer,
    "switch_language": switch_language_answer,
    "payoff_date": payoff_date_answer,
    "payment_date": payment_date_answer,
    "payment_confirm": payment_confirm_answer,
    "keep_scheduled": keep_scheduled_answer,
    "hardship": hardship_answer,
    "dispute": dispute_answer,
    "language_pick": language_pick_answer,
    "document_pick": document_pick_answer,
    "paperless_offer": paperless_offer_answer,
    "esign_consent": esign_consent_answer,
    "promise": promise_answer,
    "promise_confirm": promise_confirm_answer,
    "autopay_confirm": autopay_confirm_answer,
    "fee_dispute": fee_dispute_answer,
    "fee_dispute_what": fee_dispute_what_answer,
}
