"""Configuration: the one place that reads the environment, with development defaults."""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from servicing.ach.nacha import is_routing_number
from servicing.errors import InvalidInput
from servicing.rules.contact import ContactRules
from servicing.rules.escrow import AnalysisPolicy, SmallSurplus
from servicing.rules.money import parse_amount

SMALL_SURPLUS_CHOICES = tuple(choice.value for choice in SmallSurplus)  # refund, or credit next year's deposits
SMALL_SHORTAGE_CHOICES = ("spread", "collect")  # spread over 12 months, or billed within 30 days


def _instance_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("LOANLINE_INSTANCE_PATH", "instance")).resolve()


def _secret_key(environ: Mapping[str, str], instance: Path) -> str:
    """Return the configured secret, or one generated once and kept in the instance folder."""
    if environ.get("LOANLINE_SECRET_KEY"):
        return environ["LOANLINE_SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _data_keys(environ: Mapping[str, str], instance: Path) -> tuple[str, ...]:
    """Return the keys that encrypt bank account numbers, newest first (docs/ach.md: key rotation).

    LOANLINE_DATA_KEY holds one Fernet key or several separated by commas: the first encrypts, every one
    decrypts. Unset, one key is generated once and kept in the instance folder (development only).
    """
    raw = environ.get("LOANLINE_DATA_KEY", "").strip()
    if not raw:
        key_file = instance / "data_key"
        if not key_file.exists():
            instance.mkdir(parents=True, exist_ok=True)
            key_file.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
            key_file.chmod(0o600)
        raw = key_file.read_text().strip()
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    for number, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except ValueError:
            valid = False
        if not valid:
            raise InvalidInput(f"LOANLINE_DATA_KEY: key {number} is not a Fernet key (32 bytes, url-safe base64)")
    return keys


def _ach_settings(environ: Mapping[str, str]) -> AchSettings:
    """Return the originator's ACH settings; refuse a malformed one by name."""
    settings = AchSettings(
        immediate_destination=environ.get("LOANLINE_ACH_IMMEDIATE_DESTINATION") or "091000019",
        immediate_origin=environ.get("LOANLINE_ACH_IMMEDIATE_ORIGIN") or "1234567890",
        company_id=environ.get("LOANLINE_ACH_COMPANY_ID") or "1234567890",
        company_name=environ.get("LOANLINE_ACH_COMPANY_NAME") or "LOANLINE DEMO",
        odfi=environ.get("LOANLINE_ACH_ODFI") or "09100001",
        destination_name=environ.get("LOANLINE_ACH_DESTINATION_NAME") or "",
        offset_routing=environ.get("LOANLINE_ACH_OFFSET_ROUTING") or None,
        offset_account=environ.get("LOANLINE_ACH_OFFSET_ACCOUNT") or None,
        returned_payment_fee=_fee(environ.get("LOANLINE_ACH_RETURNED_PAYMENT_FEE") or "0"),
    )
    checks = (
        ("LOANLINE_ACH_IMMEDIATE_DESTINATION", settings.immediate_destination, _ROUTING),
        ("LOANLINE_ACH_IMMEDIATE_ORIGIN", settings.immediate_origin, _TEN_CHARACTERS),
        ("LOANLINE_ACH_COMPANY_ID", settings.company_id, _TEN_CHARACTERS),
        ("LOANLINE_ACH_COMPANY_NAME", settings.company_name, _COMPANY_NAME),
        ("LOANLINE_ACH_ODFI", settings.odfi, _EIGHT_DIGITS),
        ("LOANLINE_ACH_DESTINATION_NAME", settings.destination_name, _BANK_NAME),
        ("LOANLINE_ACH_OFFSET_ROUTING", settings.offset_routing or "091000019", _ROUTING),
        ("LOANLINE_ACH_OFFSET_ACCOUNT", settings.offset_account or "1", _ACCOUNT),
    )
    for name, value, pattern in checks:
        if not pattern.fullmatch(value):
            raise InvalidInput(f"{name}={value!r}: {_PATTERN_WORDS[pattern]}")
    if name_bad := _routing_checksum_fails(settings):
        raise InvalidInput(f"{name_bad}: the routing number's check digit is wrong")
    if bool(settings.offset_routing) != bool(settings.offset_account):
        raise InvalidInput("LOANLINE_ACH_OFFSET_ROUTING and LOANLINE_ACH_OFFSET_ACCOUNT go together: both or neither")
    return settings


_ROUTING = re.compile(r"\d{9}")
_EIGHT_DIGITS = re.compile(r"\d{8}")
_TEN_CHARACTERS = re.compile(r"[ -~]{1,10}")
_COMPANY_NAME = re.compile(r"[ -~]{1,16}")
_BANK_NAME = re.compile(r"[ -~]{0,23}")
_ACCOUNT = re.compile(r"[0-9A-Za-z-]{1,17}")
_PATTERN_WORDS = {
    _ROUTING: "expected a 9-digit routing number",
    _EIGHT_DIGITS: "expected the 8-digit ODFI identification",
    _TEN_CHARACTERS: "expected 1 to 10 plain ASCII characters",
    _COMPANY_NAME: "expected 1 to 16 plain ASCII characters",
    _BANK_NAME: "expected at most 23 plain ASCII characters",
    _ACCOUNT: "expected an account number of 1 to 17 characters",
}


def _routing_checksum_fails(settings: AchSettings) -> str | None:
    for name, value in (("LOANLINE_ACH_IMMEDIATE_DESTINATION", settings.immediate_destination),
                        ("LOANLINE_ACH_OFFSET_ROUTING", settings.offset_routing)):  # fmt: skip
        if value and not is_routing_number(value):
            return name
    return None


def _fee(raw: str) -> Decimal:
    """Return the returned-payment fee setting: a plain amount from 0 (none) to 100."""
    try:
        fee = Decimal(raw.strip())
    except InvalidOperation:
        fee = Decimal(-1)
    if not fee.is_finite() or not Decimal(0) <= fee <= Decimal(100) or fee != fee.quantize(Decimal("0.01")):
        raise InvalidInput(f"LOANLINE_ACH_RETURNED_PAYMENT_FEE={raw!r}: expected an amount from 0 to 100, like 25.00")
    return fee.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class AchSettings:
    """The originator's ACH settings (docs/ach.md): who we are in the NACHA file, and the returned-payment fee."""

    immediate_destination: str = "091000019"  # the ODFI's (or the Fed's) routing number
    immediate_origin: str = "1234567890"
    company_id: str = "1234567890"
    company_name: str = "LOANLINE DEMO"
    odfi: str = "09100001"  # the originating bank's 8-digit identification: trace numbers start with it
    destination_name: str = ""
    offset_routing: str | None = None  # when set with offset_account, each batch ends with an offsetting credit
    offset_account: str | None = None
    returned_payment_fee: Decimal = Decimal("0.00")  # R01/R09 only; 0: none


def _threshold(environ: Mapping[str, str], name: str, default: str) -> Decimal:
    """Read an amount of at least 0 (`0` sends every fee waiver for approval)."""
    raw = environ.get(name) or default
    try:
        amount = parse_amount(raw)
    except InvalidInput as refused:
        raise InvalidInput(f"{name}={raw!r}: expected an amount like 50.00") from refused
    if amount < 0:
        raise InvalidInput(f"{name}={raw!r}: expected an amount of 0 or more")
    return amount


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    """Return an environment setting that must be one of a few words; refuse anything else by name."""
    value = (environ.get(name) or default).strip().lower()
    if value not in choices:
        raise InvalidInput(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def _days(environ: Mapping[str, str], name: str, default: int) -> int:
    """Return a setting that counts days (0 to 60); refuse anything else by name."""
    raw = (environ.get(name) or str(default)).strip()
    if not raw.isdigit() or not 0 <= int(raw) <= 60:
        raise InvalidInput(f"{name}={raw!r}: expected a number of days from 0 to 60")
    return int(raw)


def _count(environ: Mapping[str, str], name: str, default: int, most: int, least: int = 0) -> int:
    """Return a setting that counts something (`least` to `most`); refuse anything else by name."""
    raw = (environ.get(name) or str(default)).strip()
    if not raw.isdigit() or not least <= int(raw) <= most:
        raise InvalidInput(f"{name}={raw!r}: expected a whole number from {least} to {most}")
    return int(raw)


def _hours(environ: Mapping[str, str], name: str, default: str) -> tuple[time, time]:
    """Return a window of hours written HH:MM-HH:MM that starts before it ends; refuse anything else by name."""
    raw = (environ.get(name) or default).strip()
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError as error:
        raise InvalidInput(f"{name}={raw!r}: expected hours like 08:00-21:00") from error
    if not start < end:
        raise InvalidInput(f"{name}={raw!r}: the window must start before it ends")
    return start, end


SCHEDULED_JOBS = ("eod", "ach-export", "partitions", "receipts")
DEFAULT_SCHEDULE = "eod=22:00,ach-export=17:00,partitions=03:00,receipts=03:30"


def _schedule(raw: str) -> tuple[tuple[str, time], ...]:
    """Return the daily jobs and their local times, written job=HH:MM separated by commas; refuse anything else."""
    jobs: dict[str, time] = {}
    for part in raw.split(","):
        job, _, at = part.strip().partition("=")
        if job.strip() not in SCHEDULED_JOBS:
            raise InvalidInput(f"LOANLINE_SCHEDULE: {job.strip()!r} is not a job ({', '.join(SCHEDULED_JOBS)})")
        try:
            jobs[job.strip()] = time.fromisoformat(at.strip())
        except ValueError as error:
            raise InvalidInput(f"LOANLINE_SCHEDULE: {part.strip()!r}: expected job=HH:MM like eod=22:00") from error
    return tuple(sorted(jobs.items(), key=lambda item: SCHEDULED_JOBS.index(item[0])))


def _flag(value: str | None) -> bool:
    """Return whether an environment switch is on: 1, true, yes or on (any case); off when unset."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything Loanline reads from its environment."""

    database_url: str
    instance_path: Path
    secret_key: str
    public_url: str | None
    servicer_name: str
    servicer_phone: str
    country: str
    timezone: str
    business_hours: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_from_number: str | None
    telegram_bot_token: str | None
    telegram_webhook_secret: str | None
    today_override: str | None = None
    simulator: bool = False  # the borrower simulator at /simulator (a development tool: off in production)
    telegram_api_url: str | None = None  # another Bot API server (a local one, a test double); Telegram's if unset
    twilio_api_url: str | None = None  # another Twilio REST API server (a test double); api.twilio.com if unset
    redis_url: str | None = None  # rate-limit counts shared by every worker; this process's memory if unset
    rate_limit_prefix: str = "loanline"  # keeps apart the counts of deployments sharing one Redis
    flood_limit: str = "20/minute"  # messages one sender may send before the bot goes quiet (limits' notation)
    login_attempts: int = 10  # console login POSTs one address may make in 5 minutes (docs/console.md)
    # The portfolio's escrow analysis options (Reg X 1024.17(f)): what becomes of a surplus under $50 for a
    # current borrower, and of a shortage or deficiency under one month's deposit.
    escrow_small_surplus: str = SmallSurplus.CREDIT.value
    escrow_small_shortage: str = "spread"
    # Documents (docs/documents.md): where their files are kept, and the day of the cycle end of day makes
    # each loan's periodic statement (this many days before its due date).
    documents_dir: Path = Path("instance/documents")
    servicer_address: str = "PO Box 1000, Springfield, IL 62701"  # the return address on paper, lines split by ", "
    statement_days_before_due: int = 15
    # The contact policy (docs/contact-policy.md): the hours messages the servicer starts may reach a borrower
    # (their local time, every zone they may be in), the collection messages allowed per borrower in a rolling
    # window of days and in one day, and how many days before a due date the payment reminder goes.
    contact_hours: tuple[time, time] = (time(8, 0), time(21, 0))
    collection_cap: int = 3
    collection_cap_days: int = 7
    collection_per_day: int = 1
    reminder_days_before_due: int = 5

    def contact_rules(self) -> ContactRules:
        """Return this portfolio's contact rules."""
        start, end = self.contact_hours
        return ContactRules(
            contact_from=start, contact_until=end, collection_cap=self.collection_cap,
            cap_days=self.collection_cap_days, collection_per_day=self.collection_per_day,
            reminder_days_before_due=self.reminder_days_before_due,
            servicer_timezone=self.timezone,
        )  # fmt: skip

    # ACH (docs/ach.md): the keys that encrypt bank account numbers (newest first), and the originator.
    data_keys: tuple[str, ...] = ()
    ach: AchSettings = AchSettings()
    # Four eyes on money (docs/console-loans.md): a fee waiver above this amount (in the loan's currency)
    # waits for a supervisor's approval; at or below it, the specialist's waiver is done at once.
    fee_waiver_approval_above: Decimal = Decimal("50.00")
    # Operations (docs/operations.md): who may read /metrics, how logs are written, how many proxies in front of
    # the web workers are trusted for the client's address and scheme (X-Forwarded-For/-Proto/-Host), and when the
    # scheduler runs the daily jobs (local times in the portfolio's zone, on business days).
    metrics_token: str | None = None
    log_format: str = "json"
    proxy_hops: int = 0
    schedule: tuple[tuple[str, time], ...] = ()
    # How long an outbox worker's claim on a message lasts: a worker killed mid-send leaves its messages to be sent
    # again by another once the lease ends (docs/reliability.md), so it is longer than any send takes.
    outbox_lease_seconds: int = 300
    # PostgreSQL: how many connections end of day's accrual uses at once (servicing.eod.accrue_ranges); about the
    # database server's cores, at most 8 (an engine's pool holds 5 connections and opens 10 more at most, and
    # outreach takes 3). SQLite always accrues on one.
    eod_connections: int = 2

    def escrow_policy(self) -> AnalysisPolicy:
        """Return the escrow analysis options this servicer's portfolio uses."""
        return AnalysisPolicy(
            small_surplus=SmallSurplus(self.escrow_small_surplus),
            collect_small_shortage=self.escrow_small_shortage == "collect",
        )

    def unconfigured_channels(self) -> list[str]:
        """Return the channels this deployment cannot send on: their messages wait in the outbox."""
        missing = []
        if not (self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number):
            missing.append("sms")
        if not self.telegram_bot_token:
            missing.append("telegram")
        return missing

    def today(self) -> date:
        """Return today's date in the servicer's time zone (LOANLINE_TODAY overrides it for demos and tests)."""
        if self.today_override:
            return date.fromisoformat(self.today_override)
        return datetime.now(ZoneInfo(self.timezone)).date()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment (os.environ unless given)."""
        env = os.environ if environ is None else environ
        instance = _instance_path(env)
        default_db = f"sqlite:///{instance / 'loanline.db'}"
        return cls(
            database_url=env.get("LOANLINE_DATABASE_URL", default_db),
            instance_path=instance,
            secret_key=_secret_key(env, instance),
            public_url=env.get("LOANLINE_PUBLIC_URL") or None,
            servicer_name=env.get("LOANLINE_SERVICER_NAME", "Loanline Demo Servicing"),
            servicer_phone=env.get("LOANLINE_SERVICER_PHONE", "+1 800 555 0100"),
            country=env.get("LOANLINE_COUNTRY", "US"),
            timezone=env.get("LOANLINE_TIMEZONE", "America/New_York"),
            business_hours=env.get("LOANLINE_BUSINESS_HOURS", "08:00-20:00"),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_from_number=env.get("TWILIO_FROM_NUMBER") or None,
            telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            today_override=env.get("LOANLINE_TODAY") or None,
            simulator=_flag(env.get("LOANLINE_SIMULATOR")),
            telegram_api_url=env.get("TELEGRAM_API_URL") or None,
            twilio_api_url=env.get("TWILIO_API_URL") or None,
            redis_url=env.get("LOANLINE_REDIS_URL") or None,
            rate_limit_prefix=env.get("LOANLINE_RATE_LIMIT_PREFIX") or "loanline",
            flood_limit=env.get("LOANLINE_FLOOD_LIMIT") or "20/minute",
            login_attempts=_count(env, "LOANLINE_LOGIN_ATTEMPTS", 10, 1000, least=1),
            escrow_small_surplus=_choice(env, "LOANLINE_ESCROW_SMALL_SURPLUS", SMALL_SURPLUS_CHOICES, "credit"),
            escrow_small_shortage=_choice(env, "LOANLINE_ESCROW_SMALL_SHORTAGE", SMALL_SHORTAGE_CHOICES, "spread"),
            servicer_address=env.get("LOANLINE_SERVICER_ADDRESS") or "PO Box 1000, Springfield, IL 62701",
            documents_dir=Path(env.get("LOANLINE_DOCUMENTS_DIR") or instance / "documents").resolve(),
            statement_days_before_due=_days(env, "LOANLINE_STATEMENT_DAYS_BEFORE_DUE", 15),
            contact_hours=_hours(env, "LOANLINE_CONTACT_HOURS", "08:00-21:00"),
            collection_cap=_count(env, "LOANLINE_COLLECTION_CAP", 3, 50),
            collection_cap_days=_count(env, "LOANLINE_COLLECTION_CAP_DAYS", 7, 60, least=1),
            collection_per_day=_count(env, "LOANLINE_COLLECTION_PER_DAY", 1, 50),
            reminder_days_before_due=_days(env, "LOANLINE_REMINDER_DAYS_BEFORE_DUE", 5),
            data_keys=_data_keys(env, instance),
            ach=_ach_settings(env),
            fee_waiver_approval_above=_threshold(env, "LOANLINE_FEE_WAIVER_APPROVAL_ABOVE", "50.00"),
            metrics_token=env.get("LOANLINE_METRICS_TOKEN") or None,
            log_format=_choice(env, "LOANLINE_LOG_FORMAT", ("json", "text"), "json"),
            proxy_hops=_count(env, "LOANLINE_PROXY_HOPS", 0, 5),
            schedule=_schedule(env.get("LOANLINE_SCHEDULE") or DEFAULT_SCHEDULE),
            outbox_lease_seconds=_count(env, "LOANLINE_OUTBOX_LEASE_SECONDS", 300, 3600, least=5),
            eod_connections=_count(env, "LOANLINE_EOD_CONNECTIONS", 2, 8, least=1),
        )
