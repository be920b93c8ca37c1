"""Reports with charts and CSV export: delinquency, payments, the queue, the case pipeline, the audit log,
promises to pay, outreach.

The figures come from `servicing.reports` (the same rows `loanline report` prints); this blueprint only
draws them (inline SVG measured by `console.reports.charts`) or hands them over as CSV.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers.response import Response

from console.arguments import date_argument, servicer_today
from console.contact import KINDS as CONTACT_KINDS
from console.contact import REASONS as CONTACT_REASONS
from console.contact import STATUSES as CONTACT_STATUSES
from console.contact import label
from console.reports.charts import Chart, Figure, bar_chart, line_chart
from console.security import audits_view, requires_role, sessions, user
from servicing.reports import REPORTS, csv_text
from servicing.specialists import Role

bp = Blueprint("reports", __name__, url_prefix="/console/reports")

TITLES: dict[str, Any] = {
    "delinquency": _l("Delinquency buckets"),
    "payments": _l("Payments posted"),
    "queue": _l("Queue by day"),
    "cases": _l("Case pipeline"),
    "audit": _l("Audit log"),
    "promises": _l("Promises to pay"),
    "outreach": _l("Outreach: contact decisions"),
    "ach": _l("ACH drafts and returns"),
    "satisfaction": _l("Satisfaction per specialist"),
}
LEAST_ROLE = {"audit": Role.SUPERVISOR}
COLUMNS: dict[str, Any] = {
    "bucket": _l("Bucket"), "currency": _l("Currency"), "loans": _l("Loans"), "principal": _l("Principal"),
    "received_on": _l("Received on"), "status": _l("Status"), "payments": _l("Payments"), "amount": _l("Amount"),
    "day": _l("Day (UTC)"), "escalated": _l("Escalated"), "claimed": _l("Claimed"),
    "mean_wait_minutes": _l("Mean wait (min)"), "median_wait_minutes": _l("Median wait (min)"),
    "resolved": _l("Resolved"), "mean_handle_minutes": _l("Mean handle time (min)"),
    "median_handle_minutes": _l("Median handle time (min)"), "sla_breaches": _l("SLA breaches"),
    "kind": _l("Kind"), "stage": _l("Stage"), "open": _l("Open"), "closed": _l("Closed"), "overdue": _l("Overdue"),
    "at": _l("When (UTC)"), "actor": _l("Who"), "action": _l("Action"), "subject_type": _l("Subject type"),
    "subject_id": _l("Subject"), "detail": _l("Detail"),
    "group": _l("By"), "name": _l("Who or how"), "made": _l("Made"), "kept": _l("Kept"), "broken": _l("Broken"),
    "cancelled": _l("Cancelled"), "kept_rate": _l("Kept rate"),
    "decided_at": _l("Decided (UTC)"), "loan_number": _l("Loan"), "borrower": _l("Borrower"), "purpose": _l("Purpose"),
    "channel": _l("Channel"), "reason": _l("Reason"), "send_after": _l("Send after (UTC)"),
    "effective_date": _l("Effective date"), "exported": _l("Exported"), "exported_amount": _l("Amount exported"),
    "returned": _l("Returned"), "returned_amount": _l("Amount returned"), "return_rate_percent": _l("Return rate (%)"),
    "returns_by_code": _l("Returns by code"), "changes": _l("Notifications of change"),
    "specialist": _l("Specialist"), "asked": _l("Asked"), "not_asked": _l("Not asked (contact policy)"),
    "answered": _l("Answered"), "response_rate_percent": _l("Response rate (%)"),
    "average_score": _l("Average score (1 to 5)"), "satisfied_percent": _l("Satisfied, 4 or 5 (%)"),
}  # fmt: skip
MONEY_COLUMNS = frozenset({"principal", "amount", "exported_amount", "returned_amount"})
AUDIT_ROWS_SHOWN = 200
MAX_CHART_DAYS = 400

Rows = list[dict[str, Any]]


# -- charts per report ----------------------------------------------------------------------------------


def delinquency_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """Loans per bucket, every currency together."""
    loans: Counter[str] = Counter()
    for row in rows:
        loans[row["bucket"]] += row["loans"]
    return [(_("Loans per bucket"), bar_chart(list(loans.items())))]


def day_by_day(figures: dict[date, Figure], empty: Figure) -> list[tuple[str, Figure]]:
    """Return one (ISO day, figure) per calendar day from the first to the last, `empty` on days without figures."""
    if not figures:
        return []
    first, last = min(figures), max(figures)
    if (last - first).days > MAX_CHART_DAYS:  # too many to draw: only the days with figures
        return [(day.isoformat(), figures[day]) for day in sorted(figures)]
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [(day.isoformat(), figures.get(day, empty)) for day in days]


def payments_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """Amount posted per day, one chart per currency."""
    by_currency: dict[str, dict[date, Figure]] = defaultdict(dict)
    for row in rows:
        if row["status"] == "posted":
            by_currency[row["currency"]][row["received_on"]] = row["amount"]
    return [
        (_("Posted per day (%(currency)s)", currency=currency), bar_chart(day_by_day(days, Decimal(0))))
        for currency, days in sorted(by_currency.items())
    ]


def queue_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """Volume, median wait and SLA breaches per day."""

    def per_day(column: str, empty: Figure) -> list[tuple[str, Figure]]:
        return day_by_day({row["day"]: row[column] for row in rows}, empty)

    return [
        (_("Conversations escalated"), bar_chart(per_day("escalated", 0))),
        (_("Median wait (min)"), line_chart(per_day("median_wait_minutes", None))),
        (_("SLA breaches"), bar_chart(per_day("sla_breaches", 0))),
    ]


def cases_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """Open and overdue cases per kind."""
    open_cases: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for row in rows:
        open_cases[row["kind"]] += row["open"]
        overdue[row["kind"]] += row["overdue"]
    return [(_("Open cases"), bar_chart(list(open_cases.items()))), (_("Overdue"), bar_chart(list(overdue.items())))]


def audit_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """Entries per day."""
    per_day = Counter(row["at"][:10] for row in rows)
    return [(_("Entries per day"), bar_chart(sorted(per_day.items())))]


def promises_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """Promises made, kept, broken and still open; and made per channel, kept per specialist."""
    [everything] = [row for row in rows if row["group"] == "all"]
    outcomes = [(str(label), everything[key]) for key, label in PROMISE_OUTCOMES.items()]
    by = {group: [(row["name"], row[column]) for row in rows if row["group"] == group]
          for group, column in (("channel", "made"), ("specialist", "kept"))}  # fmt: skip
    return [
        (_("Promises made, kept and broken"), bar_chart(outcomes)),
        (_("Promises made per channel"), bar_chart(by["channel"])),
        (_("Promises kept per specialist"), bar_chart(by["specialist"])),
    ]


PROMISE_OUTCOMES = {"made": _l("Made"), "kept": _l("Kept"), "broken": _l("Broken"), "open": _l("Open")}


def outreach_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """Decisions by status, and the deferred or suppressed ones by reason, and by kind of message."""
    statuses = Counter(label(CONTACT_STATUSES, row["status"]) for row in rows)
    reasons = Counter(label(CONTACT_REASONS, row["reason"]) for row in rows if row["reason"])
    kinds = Counter(label(CONTACT_KINDS, row["kind"]) for row in rows)
    return [
        (_("Decisions by status"), bar_chart(sorted(statuses.items()))),
        (_("Deferred or suppressed, by reason"), bar_chart(reasons.most_common())),
        (_("Decisions by kind of message"), bar_chart(kinds.most_common())),
    ]


def ach_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """Drafts exported and returned per effective date."""
    exported = {row["effective_date"]: row["exported"] for row in rows}
    returned = {row["effective_date"]: row["returned"] for row in rows}
    return [(_("Drafts exported"), bar_chart(day_by_day(exported, 0))),
            (_("Drafts returned"), bar_chart(day_by_day(returned, 0)))]  # fmt: skip


def satisfaction_charts(rows: Rows) -> list[tuple[str, Chart]]:
    """The average score and the share satisfied, per specialist."""
    people = [row for row in rows if row["specialist"] != "all"]
    return [
        (_("Average score per specialist"), bar_chart([(row["specialist"], row["average_score"]) for row in people])),
        (_("Answers per specialist"), bar_chart([(row["specialist"], row["answered"]) for row in people])),
    ]


CHARTS: dict[str, Callable[[Rows], list[tuple[str, Chart]]]] = {
    "delinquency": delinquency_charts,
    "payments": payments_charts,
    "queue": queue_charts,
    "cases": cases_charts,
    "audit": audit_charts,
    "promises": promises_charts,
    "outreach": outreach_charts,
    "ach": ach_charts,
    "satisfaction": satisfaction_charts,
}


# -- pages ----------------------------------------------------------------------------------------------


def csv_download(name: str, rows: Rows, since: date | None, until: date | None) -> Response:
    """Return rows as a CSV attachment named after the report and its period."""
    period = "-".join(day.isoformat() for day in (since, until) if day) or "all"
    response = Response(csv_text(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="loanline-{name}-{period}.csv"'
    return response


@bp.get("/")
@requires_role(Role.SPECIALIST)
def index() -> str:
    """List the reports the specialist may open."""
    role = user().role
    shown = [(name, title) for name, title in TITLES.items() if role.includes(LEAST_ROLE.get(name, Role.SPECIALIST))]
    return render_template("reports/index.html", reports=shown)


@bp.get("/<name>")
@requires_role(Role.SPECIALIST)
@audits_view("report", id_argument="name")
def show(name: str) -> str | Response:
    """Show a report for a period as charts and a table, or with `?format=csv` as a CSV file."""
    if name not in REPORTS:
        abort(404)
    if not user().role.includes(LEAST_ROLE.get(name, Role.SPECIALIST)):
        abort(403)
    since, until = date_argument("from"), date_argument("to")
    with sessions()() as session:
        rows = REPORTS[name](session, servicer_today(), since=since, until=until)
    if request.args.get("format") == "csv":
        return csv_download(name, rows, since, until)
    columns = list(rows[0]) if rows else []
    period: dict[str, Any] = {key: day.isoformat() for key, day in (("from", since), ("to", until)) if day}
    return render_template(
        "reports/show.html", name=name, title=TITLES[name], rows=rows[:AUDIT_ROWS_SHOWN], total=len(rows),
        columns=columns, labels=COLUMNS, money_columns=MONEY_COLUMNS, charts=CHARTS[name](rows),
        since=since, until=until, csv_url=url_for("reports.show", name=name, format="csv", **period),
    )  # fmt: skip
