"""The demo portfolio: 70 loans in 9 currencies and 15 locales, with a few months of history.

Everything is derived from the anchor date `as_of` and the tables below, never from the clock or
an unseeded random generator, so the same `as_of` always gives the same loans, payments and
balances. The loans are boarded mid-life a few months before `as_of`; each one then "makes" the
payments its story calls for, day by day, with end of day running in between, so that late fees,
days past due, escrow disbursements and early-intervention tasks come from the real rules.
Payment references are DEMO-<loan>-<n>: loading the demo again changes nothing.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.audit import record_audit
from servicing.boarding import LoanRecord, board_loans, parse_loan_row
from servicing.cases import CaseKind, move_loss_mitigation, open_case
from servicing.demo.conversations import load_demo_conversations, load_moment
from servicing.eod import run_eod
from servicing.errors import ServicingError
from servicing.escrow import add_escrow_item
from servicing.outreach.promises import make_promise
from servicing.outreach.reminders import Outreach, queue_outreach
from servicing.payments import PaymentInstruction, post_payments
from servicing.rules.account import Account, Product
from servicing.rules.contact import DEFAULT_RULES, ContactRules
from servicing.rules.countries import LateCharge, late_charge
from servicing.rules.delinquency import BUCKETS, bucket
from servicing.rules.escrow import EscrowKind
from servicing.rules.interest import Compounding, InterestMethod, level_payment
from servicing.rules.money import ZERO, to_money
from servicing.rules.payoff import payoff_quote
from servicing.rules.schedule import due_date_of, installment_interest, split_installment
from servicing.rules.workouts import WorkoutKind
from servicing.store.accounts import business_date, load_accounts
from servicing.store.models import AuditEntry, Case, Loan, Payment, Promise
from servicing.store.models import Workout as WorkoutRow
from servicing.workouts import modify_loan, place_forbearance

ACTOR = "demo"
SOURCE = "demo"
DEMO_BOARDED = "demo.boarded"  # the audit action of a load that boarded demo loans: marks a demo database
HISTORY_DAYS = 140  # the oldest demo installment falls due this long before as_of (the 120+ loan's)
LOAN_TYPE_DUE_DAYS = (5, 10, 15, 20, 25)  # personal and auto loans fall due on these days, in turn
EARLY_DAYS = 5
LATE_ONCE_DAYS = 20  # past the 15-day grace period, so end of day charges a late fee
PAYOFF_DAYS_BEFORE = 25
FORBEARANCE_MONTHS = 6
MODIFICATION_RATE = Decimal("0.0425")
NO_BANK_ACCOUNT = frozenset({"LN-1010", "LN-2004", "LN-3005", "LN-5104", "LN-7004", "LN-8004"})


class DemoRefused(ServicingError):
    """The demo cannot be loaded on this database; the reason says what to do."""


# -- where the borrowers live ---------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A city demo borrowers live in: its locale, country, currency and time zone."""

    city: str
    region: str
    locale: str
    country: str
    currency: str
    timezone: str


PLACES: dict[str, Place] = {
    place.city: place
    for place in (
        Place("Washington", "DC", "en_US", "US", "USD", "America/New_York"),
        Place("New York", "NY", "en_US", "US", "USD", "America/New_York"),
        Place("Chicago", "IL", "en_US", "US", "USD", "America/Chicago"),
        Place("Dallas", "TX", "en_US", "US", "USD", "America/Chicago"),
        Place("Denver", "CO", "en_US", "US", "USD", "America/Denver"),
        Place("San Francisco", "CA", "en_US", "US", "USD", "America/Los_Angeles"),
        Place("Seattle", "WA", "en_US", "US", "USD", "America/Los_Angeles"),
        Place("Tampa", "FL", "en_US", "US", "USD", "America/New_York"),
        Place("Phoenix", "AZ", "en_US", "US", "USD", "America/Phoenix"),
        Place("Boston", "MA", "en_US", "US", "USD", "America/New_York"),
        Place("Atlanta", "GA", "en_US", "US", "USD", "America/New_York"),
        Place("Columbus", "OH", "en_US", "US", "USD", "America/New_York"),
        Place("Minneapolis", "MN", "en_US", "US", "USD", "America/Chicago"),
        Place("Miami", "FL", "es_US", "US", "USD", "America/New_York"),
        Place("Houston", "TX", "es_US", "US", "USD", "America/Chicago"),
        Place("Los Angeles", "CA", "es_US", "US", "USD", "America/Los_Angeles"),
        Place("San Antonio", "TX", "es_US", "US", "USD", "America/Chicago"),
        Place("Tucson", "AZ", "es_US", "US", "USD", "America/Phoenix"),
        Place("Cicero", "IL", "es_US", "US", "USD", "America/Chicago"),
        Place("Bronx", "NY", "es_US", "US", "USD", "America/New_York"),
        Place("Montréal", "QC", "fr_CA", "CA", "CAD", "America/Toronto"),
        Place("Québec", "QC", "fr_CA", "CA", "CAD", "America/Toronto"),
        Place("Gatineau", "QC", "fr_CA", "CA", "CAD", "America/Toronto"),
        Place("Sherbrooke", "QC", "fr_CA", "CA", "CAD", "America/Toronto"),
        Place("Laval", "QC", "fr_CA", "CA", "CAD", "America/Toronto"),
        Place("Moncton", "NB", "fr_CA", "CA", "CAD", "America/Moncton"),
        Place("Toronto", "ON", "en_CA", "CA", "CAD", "America/Toronto"),
        Place("Vancouver", "BC", "en_CA", "CA", "CAD", "America/Vancouver"),
        Place("Calgary", "AB", "en_CA", "CA", "CAD", "America/Edmonton"),
        Place("London", "ENG", "en_GB", "GB", "GBP", "Europe/London"),
        Place("Manchester", "ENG", "en_GB", "GB", "GBP", "Europe/London"),
        Place("Edinburgh", "SCT", "en_GB", "GB", "GBP", "Europe/London"),
        Place("Bristol", "ENG", "en_GB", "GB", "GBP", "Europe/London"),
        Place("Leeds", "ENG", "en_GB", "GB", "GBP", "Europe/London"),
        Place("Berlin", "BE", "de_DE", "DE", "EUR", "Europe/Berlin"),
        Place("München", "BY", "de_DE", "DE", "EUR", "Europe/Berlin"),
        Place("Hamburg", "HH", "de_DE", "DE", "EUR", "Europe/Berlin"),
        Place("Köln", "NW", "de_DE", "DE", "EUR", "Europe/Berlin"),
        Place("Frankfurt am Main", "HE", "de_DE", "DE", "EUR", "Europe/Berlin"),
        Place("Stuttgart", "BW", "de_DE", "DE", "EUR", "Europe/Berlin"),
        Place("Roma", "RM", "it_IT", "IT", "EUR", "Europe/Rome"),
        Place("Milano", "MI", "it_IT", "IT", "EUR", "Europe/Rome"),
        Place("Napoli", "NA", "it_IT", "IT", "EUR", "Europe/Rome"),
        Place("Torino", "TO", "it_IT", "IT", "EUR", "Europe/Rome"),
        Place("Bologna", "BO", "it_IT", "IT", "EUR", "Europe/Rome"),
        Place("Mumbai", "MH", "hi_IN", "IN", "INR", "Asia/Kolkata"),
        Place("New Delhi", "DL", "hi_IN", "IN", "INR", "Asia/Kolkata"),
        Place("Bengaluru", "KA", "hi_IN", "IN", "INR", "Asia/Kolkata"),
        Place("Pune", "MH", "hi_IN", "IN", "INR", "Asia/Kolkata"),
        Place("Jaipur", "RJ", "hi_IN", "IN", "INR", "Asia/Kolkata"),
        Place("Lucknow", "UP", "hi_IN", "IN", "INR", "Asia/Kolkata"),
        Place("São Paulo", "SP", "pt_BR", "BR", "BRL", "America/Sao_Paulo"),
        Place("Rio de Janeiro", "RJ", "pt_BR", "BR", "BRL", "America/Sao_Paulo"),
        Place("Belo Horizonte", "MG", "pt_BR", "BR", "BRL", "America/Sao_Paulo"),
        Place("Curitiba", "PR", "pt_BR", "BR", "BRL", "America/Sao_Paulo"),
        Place("Porto Alegre", "RS", "pt_BR", "BR", "BRL", "America/Sao_Paulo"),
        Place("Recife", "PE", "pt_BR", "BR", "BRL", "America/Recife"),
        Place("Jakarta", "JK", "id_ID", "ID", "IDR", "Asia/Jakarta"),
        Place("Bandung", "JB", "id_ID", "ID", "IDR", "Asia/Jakarta"),
        Place("Surabaya", "JI", "id_ID", "ID", "IDR", "Asia/Jakarta"),
        Place("Yogyakarta", "YO", "id_ID", "ID", "IDR", "Asia/Jakarta"),
        Place("Medan", "SU", "id_ID", "ID", "IDR", "Asia/Jakarta"),
        Place("Denpasar", "BA", "id_ID", "ID", "IDR", "Asia/Makassar"),
        # Issue 16: the languages US servicers most often need after Spanish (CLDR has no zh_Hans_US, vi_US, ko_US
        # or fil_US: the language's own formats with the US region, see servicing/boarding.check_locale), and
        # Arabic for an international portfolio.
        Place("Oakland", "CA", "zh_Hans_US", "US", "USD", "America/Los_Angeles"),
        Place("Westminster", "CA", "vi_US", "US", "USD", "America/Los_Angeles"),
        Place("Fort Lee", "NJ", "ko_US", "US", "USD", "America/New_York"),
        Place("Daly City", "CA", "fil_US", "US", "USD", "America/Los_Angeles"),
        Place("Cairo", "C", "ar_EG", "EG", "EGP", "Africa/Cairo"),
        Place("Riyadh", "01", "ar_SA", "SA", "SAR", "Asia/Riyadh"),
    )
}


@dataclass(frozen=True)
class Borrower:
    """A demo borrower and the knowledge factors the bot asks for. Phone numbers are fictional."""

    first_name: str
    last_name: str
    date_of_birth: str
    tax_id_last4: str
    phone: str
    postal_code: str
    city: str

    @property
    def place(self) -> Place:
        """Return where the borrower lives."""
        return PLACES[self.city]

    @property
    def name(self) -> str:
        """Return the borrower's full name."""
        return f"{self.first_name} {self.last_name}"


B = Borrower
BORROWERS: dict[str, Borrower] = {
    # US numbers are in the 555-0100..0199 range kept for fiction; UK ones in Ofcom's drama range
    # 07700 900xxx; German ones in the Bundesnetzagentur's film ranges. The rest are made up.
    "carter": B("Emily", "Carter", "1981-04-12", "4821", "+12025550101", "20001", "Washington"),
    "whitaker": B("James", "Whitaker", "1975-09-30", "1357", "+12125550102", "10025", "New York"),
    "nguyen": B("Linda", "Nguyen", "1983-01-17", "2468", "+13125550103", "60614", "Chicago"),
    "hayes": B("Robert", "Hayes", "1969-06-05", "9173", "+12145550104", "75201", "Dallas"),
    "moore": B("Patricia", "Moore", "1979-11-23", "5502", "+13035550105", "80202", "Denver"),
    "brooks": B("Michael", "Brooks", "1986-03-08", "7731", "+14155550106", "94110", "San Francisco"),
    "patel": B("Susan", "Patel", "1972-08-14", "3390", "+12065550107", "98103", "Seattle"),
    "kim": B("David", "Kim", "1990-12-02", "6045", "+18135550108", "33602", "Tampa"),
    "mitchell": B("Karen", "Mitchell", "1988-05-19", "1204", "+16025550109", "85004", "Phoenix"),
    "reed": B("Thomas", "Reed", "1977-02-27", "8816", "+16175550110", "02139", "Boston"),
    "turner": B("Ashley", "Turner", "1965-10-10", "4400", "+14045550111", "30303", "Atlanta"),
    "bell": B("Christopher", "Bell", "1994-07-21", "2719", "+16145550112", "43215", "Columbus"),
    "foster": B("Megan", "Foster", "1980-04-04", "6631", "+16125550113", "55401", "Minneapolis"),
    "garcia": B("María", "García", "1978-02-14", "3141", "+13055550121", "33135", "Miami"),
    "hernandez": B("José", "Hernández", "1971-12-12", "5926", "+17135550122", "77002", "Houston"),
    "martinez": B("Guadalupe", "Martínez", "1989-09-09", "5358", "+12135550123", "90033", "Los Angeles"),
    "rodriguez": B("Luis", "Rodríguez", "1992-03-03", "9793", "+12105550124", "78207", "San Antonio"),
    "flores": B("Carmen", "Flores", "1974-06-16", "2384", "+15205550125", "85705", "Tucson"),
    "morales": B("Javier", "Morales", "1985-08-08", "6264", "+17085550126", "60804", "Cicero"),
    "torres": B("Ana", "Torres", "1983-11-30", "3383", "+17185550127", "10458", "Bronx"),
    "tremblay": B("Sophie", "Tremblay", "1982-05-22", "2795", "+15145550131", "H2X 1Y4", "Montréal"),
    "gagnon": B("Mathieu", "Gagnon", "1976-01-09", "0288", "+14185550132", "G1R 4P5", "Québec"),
    "roy": B("Isabelle", "Roy", "1991-07-04", "4197", "+18195550133", "J8X 3X7", "Gatineau"),
    "cote": B("Jean-François", "Côté", "1987-10-18", "1693", "+18195550134", "J1H 5N4", "Sherbrooke"),
    "bouchard": B("Chantal", "Bouchard", "1968-03-26", "9937", "+14505550135", "H7N 5H9", "Laval"),
    "lavoie": B("Pierre", "Lavoie", "1973-12-01", "5105", "+15065550136", "E1C 4B4", "Moncton"),
    "wilson": B("Emma", "Wilson", "1984-08-29", "8209", "+14165550137", "M5V 2T6", "Toronto"),
    "thompson": B("Liam", "Thompson", "1993-02-11", "7494", "+16045550138", "V6B 1A1", "Vancouver"),
    "martin": B("Olivia", "Martin", "1990-06-13", "4592", "+14035550139", "T2P 1J9", "Calgary"),
    "hughes": B("Oliver", "Hughes", "1979-04-25", "3078", "+447700900141", "SE1 7PB", "London"),
    "evans": B("Charlotte", "Evans", "1986-09-15", "1640", "+447700900142", "M1 1AE", "Manchester"),
    "roberts": B("Harry", "Roberts", "1995-01-31", "6286", "+447700900143", "EH1 1YZ", "Edinburgh"),
    "wright": B("Amelia", "Wright", "1992-11-07", "2089", "+447700900144", "BS1 4DJ", "Bristol"),
    "walker": B("George", "Walker", "1967-07-19", "9862", "+447700900145", "LS1 4AP", "Leeds"),
    "mueller": B("Lukas", "Müller", "1980-10-03", "8034", "+493023125151", "10115", "Berlin"),
    "schmidt": B("Anna", "Schmidt", "1985-02-20", "8253", "+498999998152", "80331", "München"),
    "schneider": B("Felix", "Schneider", "1991-05-06", "4211", "+494066969153", "20095", "Hamburg"),
    "fischer": B("Laura", "Fischer", "1988-12-24", "7067", "+492214710154", "50667", "Köln"),
    "weber": B("Jonas", "Weber", "1976-08-01", "9821", "+496990009155", "60311", "Frankfurt am Main"),
    "becker": B("Lea", "Becker", "1994-04-14", "4808", "+493023125156", "70173", "Stuttgart"),
    "rossi": B("Giulia", "Rossi", "1982-03-17", "6513", "+393335550161", "00184", "Roma"),
    "russo": B("Marco", "Russo", "1977-11-11", "2823", "+393335550162", "20121", "Milano"),
    "ferrari": B("Francesca", "Ferrari", "1990-01-28", "0664", "+393335550163", "80133", "Napoli"),
    "esposito": B("Alessandro", "Esposito", "1984-06-02", "7095", "+393335550164", "10121", "Torino"),
    "bianchi": B("Chiara", "Bianchi", "1971-09-21", "5058", "+393335550165", "40121", "Bologna"),
    "sharma": B("Aarav", "Sharma", "1983-08-15", "1729", "+919000000171", "400001", "Mumbai"),
    "kapoor": B("Priya", "Kapoor", "1987-01-26", "4950", "+919000000172", "110001", "New Delhi"),
    "gupta": B("Rohan", "Gupta", "1992-10-02", "3311", "+919000000173", "560001", "Bengaluru"),
    "deshpande": B("Ananya", "Deshpande", "1995-04-14", "8642", "+919000000174", "411001", "Pune"),
    "singh": B("Vikram", "Singh", "1974-12-30", "2209", "+919000000175", "302001", "Jaipur"),
    "verma": B("Neha", "Verma", "1989-07-07", "6178", "+919000000176", "226001", "Lucknow"),
    "silva": B("João", "Silva", "1981-09-07", "3846", "+5511955550181", "01310-100", "São Paulo"),
    "souza": B("Mariana", "Souza", "1986-04-21", "2697", "+5521955550182", "20040-020", "Rio de Janeiro"),
    "oliveira": B("Pedro", "Oliveira", "1979-11-15", "5132", "+5531955550183", "30130-010", "Belo Horizonte"),
    "santos": B("Beatriz", "Santos", "1996-02-02", "9014", "+5541955550184", "80010-000", "Curitiba"),
    "pereira": B("Lucas", "Pereira", "1990-10-12", "4476", "+5551955550185", "90010-150", "Porto Alegre"),
    "lima": B("Camila", "Lima", "1988-06-24", "7355", "+5581955550186", "50030-230", "Recife"),
    "santoso": B("Budi", "Santoso", "1980-08-17", "1945", "+6281255500191", "10110", "Jakarta"),
    "rahayu": B("Siti", "Rahayu", "1985-04-21", "2108", "+6281255500192", "40111", "Bandung"),
    "wijaya": B("Agus", "Wijaya", "1977-11-10", "6017", "+6281255500193", "60111", "Surabaya"),
    "kusuma": B("Dewi", "Kusuma", "1993-05-02", "8830", "+6281255500194", "55111", "Yogyakarta"),
    "pratama": B("Rizky", "Pratama", "1991-01-15", "3725", "+6281255500195", "20111", "Medan"),
    "wirawan": B("Made", "Wirawan", "1982-03-29", "5264", "+6281255500196", "80111", "Denpasar"),
    "chen": B("Wei", "Chen", "1976-10-01", "6688", "+15105550151", "94607", "Oakland"),
    "tran": B("Lan", "Tran", "1984-02-10", "3105", "+17145550152", "92683", "Westminster"),
    "park": B("Ji-hoon", "Park", "1989-08-15", "7042", "+12015550153", "07024", "Fort Lee"),
    "reyes": B("Maria", "Reyes", "1981-06-12", "2290", "+16505550154", "94015", "Daly City"),
    "hassan": B("أحمد", "حسن", "1979-05-21", "4416", "+201001230155", "11511", "Cairo"),
    "otaibi": B("نورة", "العتيبي", "1987-09-23", "8032", "+966501230156", "12211", "Riyadh"),
}


# Where each borrower lives (fictional addresses in their city and postal code): street lines. Mortgages are
# secured by that home, except Patricia Moore's, whose mail goes to a PO box. Four borrowers have no mailing
# address on file, so their paper is held ("no mailing address").
STREETS: dict[str, tuple[str, str | None] | None] = {
    "carter": ("1520 7th St NW", None), "whitaker": ("245 W 104th St", "Apt 5B"),
    "nguyen": ("2150 N Halsted St", None), "hayes": ("2100 McKinney Ave", "Apt 1204"),
    "moore": ("1630 Wazee St", None), "brooks": ("3251 20th St", None), "patel": ("4315 Fremont Ave N", None),
    "kim": None, "mitchell": ("1001 N Central Ave", "Apt 310"), "reed": ("415 Massachusetts Ave", None),
    "turner": ("245 Luckie St NW", None), "bell": ("550 N High St", None),
    "foster": ("323 Washington Ave N", None), "garcia": ("1750 SW 8th St", None),
    "hernandez": ("1415 Louisiana St", "Apt 2210"), "martinez": ("2512 E Cesar E Chavez Ave", None),
    "rodriguez": ("1302 W Commerce St", None), "flores": ("1835 N Oracle Rd", None),
    "morales": ("5210 W 25th St", None), "torres": ("2560 Grand Concourse", "Apt 4F"),
    "tremblay": ("3575 avenue du Parc", "app. 1204"), "gagnon": ("1050 rue Saint-Jean", None),
    "roy": ("25 rue Laurier", None), "cote": ("191 rue du Palais", None),
    "bouchard": ("1555 boulevard de l'Avenir", None), "lavoie": None,
    "wilson": ("401 King St W", "Unit 1802"), "thompson": ("128 W Cordova St", None),
    "martin": ("615 Macleod Trail SE", None), "hughes": ("Flat 4", "27 Waterloo Road"),
    "evans": ("12 Piccadilly", None), "roberts": ("14 Cockburn Street", None), "wright": ("8 King Street", None),
    "walker": None, "mueller": ("Invalidenstraße 44", None), "schmidt": ("Sendlinger Straße 21", None),
    "schneider": ("Mönckebergstraße 7", None), "fischer": ("Hohe Straße 52", None),
    "weber": ("Berliner Straße 27", None), "becker": ("Königstraße 28", None), "rossi": ("Via Nazionale 75", None),
    "russo": ("Via Solferino 12", None), "ferrari": ("Via Medina 40", None), "esposito": ("Via Roma 305", None),
    "bianchi": ("Via dell'Indipendenza 44", None), "sharma": ("Flat 12, Sea View Apartments", "45 Nariman Road"),
    "kapoor": ("B-24 Connaught Place", None), "gupta": ("No. 18, MG Road", None),
    "deshpande": ("7 Moledina Road, Camp", None), "singh": ("22 MI Road", None), "verma": ("14 Hazratganj", None),
    "silva": ("Avenida Paulista, 1578", "Apto 52"), "souza": ("Rua da Assembleia, 10", None),
    "oliveira": ("Avenida Afonso Pena, 1500", None), "santos": None, "pereira": ("Rua dos Andradas, 1234", None),
    "lima": ("Rua do Bom Jesus, 180", None), "santoso": ("Jl. Medan Merdeka Barat No. 12", None),
    "rahayu": ("Jl. Asia Afrika No. 65", None), "wijaya": ("Jl. Raya Darmo No. 100", None),
    "kusuma": ("Jl. Malioboro No. 52", None), "pratama": ("Jl. Balai Kota No. 8", None),
    "wirawan": ("Jl. Gajah Mada No. 30", None), "chen": ("388 9th St", "Apt 3"),
    "tran": ("9200 Bolsa Ave", None), "park": ("1600 Lemoine Ave", "Apt 12C"), "reyes": ("333 Gellert Blvd", None),
    "hassan": ("15 Talaat Harb Street", "Apt 7"), "otaibi": ("2301 King Fahd Road", None),
}  # fmt: skip
MAIL_ELSEWHERE = {"moore": ("PO Box 2281", None)}
NO_MAILING_ADDRESS = frozenset(key for key, street in STREETS.items() if street is None)
KNOWN_PROPERTIES = {"kim": ("3408 W Bay to Bay Blvd", None), "lavoie": ("88 rue Botsford", None),
                    "walker": ("21 Park Square East", None)}  # fmt: skip
# How an address names the region where the demo's short code is not what the post uses
REGION_NAMES = {
    "IN": {"MH": "Maharashtra", "DL": "Delhi", "KA": "Karnataka", "RJ": "Rajasthan", "UP": "Uttar Pradesh"},
    "ID": {"JK": "DKI Jakarta", "JB": "Jawa Barat", "JI": "Jawa Timur", "YO": "DI Yogyakarta", "SU": "Sumatera Utara",
           "BA": "Bali"},
    "EG": {"C": "Cairo Governorate"},
    "SA": {"01": "Riyadh Province"},
}  # fmt: skip
NO_REGION = frozenset({"GB"})  # British addresses name no county


def _address_columns(prefix: str, person: Borrower, street: tuple[str, str | None]) -> dict[str, str]:
    """Return a loan-file row's `<prefix>_...` columns for a street in the borrower's city."""
    place = person.place
    region = "" if place.country in NO_REGION else REGION_NAMES.get(place.country, {}).get(place.region, place.region)
    line1, line2 = street
    return {f"{prefix}_line1": line1, f"{prefix}_line2": line2 or "", f"{prefix}_city": place.city,
            f"{prefix}_region": region, f"{prefix}_postal_code": person.postal_code,
            f"{prefix}_country": place.country}  # fmt: skip


def _addresses(loan: DemoLoan) -> dict[str, str]:
    """Return the mailing address of a demo loan's borrower and, for a mortgage, its property's address."""
    person = BORROWERS[loan.borrower]
    home = STREETS[loan.borrower]
    columns: dict[str, str] = {}
    mail = MAIL_ELSEWHERE.get(loan.borrower, home)
    if mail is not None:
        columns.update(_address_columns("mailing", person, mail))
    secured = home or KNOWN_PROPERTIES.get(loan.borrower)
    if loan.is_mortgage and secured is not None:
        columns.update(_address_columns("property", person, secured))
    return columns


# -- what each loan does in the months before as_of -----------------------------------------------


@dataclass(frozen=True)
class Story:
    """How a demo loan behaves before the anchor date: which installments it pays, when and how much."""

    label: str
    days_late: int | None = None  # its oldest unpaid installment fell due about this long before as_of
    half_paid: bool = False  # ...and half of that installment was paid (the money waits in suspense)
    early: bool = False  # pays each installment EARLY_DAYS before it falls due
    extra_principal: bool = False  # adds a tenth of the installment, a curtailment
    late_once: bool = False  # paid its second installment LATE_ONCE_DAYS after it fell due
    paid_off: bool = False  # paid in full PAYOFF_DAYS_BEFORE as_of
    workout: WorkoutKind | None = None
    workout_after_days: int = 0  # the workout starts this long after the oldest unpaid due date


STORIES: dict[str, Story] = {
    "current": Story("current"),
    "early": Story("current, pays 5 days early", early=True),
    "extra": Story("current, pays extra principal", extra_principal=True),
    "late-fee": Story("current, one installment paid 20 days late: late fee unpaid", late_once=True),
    "dpd-10": Story("about 10 days late", days_late=10),
    "partial": Story("about 20 days late, half an installment in suspense", days_late=20, half_paid=True),
    "dpd-45": Story("about 45 days late, late fees", days_late=45),
    "partial-45": Story("about 45 days late, half an installment in suspense", days_late=45, half_paid=True),
    "dpd-75": Story("about 75 days late, late fees", days_late=75),
    "dpd-105": Story("about 105 days late, late fees", days_late=105),
    "dpd-135": Story("about 135 days late, late fees", days_late=135),
    "paid-off": Story("paid off 25 days before the anchor date", paid_off=True),
    "forbearance": Story(
        "missed a payment, then 6 months' forbearance",
        days_late=50,
        workout=WorkoutKind.FORBEARANCE,
        workout_after_days=10,
    ),
    "modified": Story(
        "missed 3 payments, then modified; current since",
        days_late=105,
        workout=WorkoutKind.MODIFICATION,
        workout_after_days=75,
    ),
}

MORTGAGE, ESCROWED, AUTO, PERSONAL = "mortgage", "mortgage+escrow", "auto", "personal"
# The demo portfolio's fixed late charges, where a country allows no percentage (docs/compliance.md)
DEMO_FIXED_LATE_CHARGES = {"GBP": "15.00", "EUR": "12.00", "CAD": "25.00"}


@dataclass(frozen=True)
class DemoLoan:
    """One demo loan: its borrower, original terms, installments paid before boarding, and story."""

    number: str
    borrower: str
    product: str
    principal: str
    rate: str
    term: int
    paid_before: int
    story: str

    @property
    def is_mortgage(self) -> bool:
        """Tell whether it is a 30/360 mortgage."""
        return self.product in {MORTGAGE, ESCROWED}


L = DemoLoan
LOANS: tuple[DemoLoan, ...] = (
    L("LN-1001", "carter", ESCROWED, "420000.00", "0.0625", 360, 40, "current"),
    L("LN-1002", "carter", AUTO, "38000.00", "0.079", 72, 14, "early"),
    L("LN-1003", "whitaker", ESCROWED, "650000.00", "0.0675", 360, 22, "partial"),
    L("LN-1004", "nguyen", ESCROWED, "310000.00", "0.05875", 360, 60, "late-fee"),
    L("LN-1005", "hayes", ESCROWED, "280000.00", "0.07125", 360, 12, "dpd-45"),
    L("LN-1006", "moore", MORTGAGE, "355000.00", "0.065", 360, 30, "forbearance"),
    L("LN-1007", "brooks", ESCROWED, "780000.00", "0.0699", 360, 18, "dpd-75"),
    L("LN-1008", "patel", ESCROWED, "505000.00", "0.06125", 360, 48, "modified"),
    L("LN-1009", "kim", ESCROWED, "265000.00", "0.0725", 360, 8, "dpd-135"),
    L("LN-1010", "mitchell", PERSONAL, "15000.00", "0.1199", 48, 10, "current"),
    L("LN-1011", "reed", AUTO, "42000.00", "0.0649", 60, 20, "paid-off"),
    L("LN-1012", "turner", ESCROWED, "225000.00", "0.06", 360, 70, "extra"),
    L("LN-1013", "bell", PERSONAL, "9000.00", "0.135", 36, 6, "dpd-10"),
    L("LN-1014", "foster", MORTGAGE, "198000.00", "0.055", 180, 36, "current"),
    L("LN-2001", "garcia", ESCROWED, "340000.00", "0.06875", 360, 26, "current"),
    L("LN-2002", "hernandez", ESCROWED, "295000.00", "0.07", 360, 15, "dpd-105"),
    L("LN-2003", "martinez", AUTO, "31000.00", "0.089", 72, 9, "dpd-45"),
    L("LN-2004", "rodriguez", PERSONAL, "12000.00", "0.149", 48, 16, "current"),
    L("LN-2005", "flores", ESCROWED, "255000.00", "0.065", 360, 44, "partial-45"),
    L("LN-2006", "morales", AUTO, "27500.00", "0.095", 60, 30, "late-fee"),
    L("LN-2007", "torres", ESCROWED, "480000.00", "0.06625", 360, 20, "early"),
    L("LN-3001", "tremblay", MORTGAGE, "450000.00", "0.0489", 300, 24, "current"),
    L("LN-3002", "gagnon", ESCROWED, "380000.00", "0.0519", 300, 36, "current"),
    L("LN-3003", "roy", AUTO, "36000.00", "0.0749", 72, 12, "dpd-10"),
    L("LN-3004", "cote", MORTGAGE, "320000.00", "0.0549", 300, 10, "dpd-75"),
    L("LN-3005", "bouchard", PERSONAL, "20000.00", "0.0999", 60, 18, "current"),
    L("LN-3006", "lavoie", MORTGAGE, "275000.00", "0.0499", 300, 50, "partial"),
    L("LN-3007", "wilson", MORTGAGE, "720000.00", "0.0529", 300, 16, "early"),
    L("LN-3008", "thompson", AUTO, "48000.00", "0.0699", 84, 22, "current"),
    L("LN-3009", "martin", PERSONAL, "15000.00", "0.1049", 48, 8, "current"),
    L("LN-4001", "hughes", MORTGAGE, "325000.00", "0.0479", 300, 30, "current"),
    L("LN-4002", "evans", MORTGAGE, "210000.00", "0.0509", 300, 14, "late-fee"),
    L("LN-4003", "roberts", PERSONAL, "12000.00", "0.089", 48, 12, "current"),
    L("LN-4004", "wright", AUTO, "22000.00", "0.079", 48, 6, "early"),
    L("LN-4005", "walker", MORTGAGE, "185000.00", "0.0459", 300, 64, "dpd-105"),
    L("LN-5001", "mueller", MORTGAGE, "380000.00", "0.0385", 300, 36, "current"),
    L("LN-5002", "schmidt", MORTGAGE, "620000.00", "0.0395", 360, 20, "extra"),
    L("LN-5003", "schneider", AUTO, "35000.00", "0.0599", 60, 18, "current"),
    L("LN-5004", "fischer", PERSONAL, "18000.00", "0.0649", 72, 24, "current"),
    L("LN-5005", "weber", MORTGAGE, "450000.00", "0.0365", 300, 50, "dpd-75"),
    L("LN-5006", "becker", AUTO, "29000.00", "0.0499", 60, 9, "current"),
    L("LN-5101", "rossi", MORTGAGE, "260000.00", "0.036", 300, 40, "current"),
    L("LN-5102", "russo", MORTGAGE, "390000.00", "0.039", 360, 12, "dpd-45"),
    L("LN-5103", "ferrari", PERSONAL, "15000.00", "0.075", 60, 15, "current"),
    L("LN-5104", "esposito", AUTO, "24000.00", "0.069", 60, 26, "dpd-135"),
    L("LN-5105", "bianchi", MORTGAGE, "210000.00", "0.0375", 300, 58, "current"),
    L("LN-6001", "sharma", MORTGAGE, "6500000.00", "0.085", 240, 30, "current"),
    L("LN-6002", "kapoor", MORTGAGE, "4800000.00", "0.0875", 240, 18, "current"),
    L("LN-6003", "gupta", AUTO, "900000.00", "0.0925", 60, 14, "current"),
    L("LN-6004", "deshpande", PERSONAL, "500000.00", "0.125", 36, 10, "dpd-10"),
    L("LN-6005", "singh", MORTGAGE, "3500000.00", "0.086", 240, 60, "partial"),
    L("LN-6006", "verma", PERSONAL, "300000.00", "0.13", 36, 20, "current"),
    L("LN-7001", "silva", MORTGAGE, "520000.00", "0.1049", 360, 24, "current"),
    L("LN-7002", "souza", MORTGAGE, "380000.00", "0.1099", 360, 36, "dpd-45"),
    L("LN-7003", "oliveira", AUTO, "85000.00", "0.189", 48, 12, "current"),
    L("LN-7004", "santos", PERSONAL, "20000.00", "0.299", 24, 6, "dpd-105"),
    L("LN-7005", "pereira", AUTO, "72000.00", "0.195", 60, 30, "current"),
    L("LN-7006", "lima", MORTGAGE, "310000.00", "0.1129", 360, 10, "current"),
    L("LN-8001", "santoso", MORTGAGE, "850000000", "0.0825", 240, 30, "current"),
    L("LN-8002", "rahayu", MORTGAGE, "620000000", "0.0875", 240, 18, "dpd-75"),
    L("LN-8003", "wijaya", AUTO, "280000000", "0.075", 60, 12, "current"),
    L("LN-8004", "kusuma", PERSONAL, "50000000", "0.14", 36, 8, "current"),
    L("LN-8005", "pratama", AUTO, "220000000", "0.08", 48, 20, "dpd-135"),
    L("LN-8006", "wirawan", MORTGAGE, "540000000", "0.085", 240, 40, "current"),
    L("LN-9001", "chen", ESCROWED, "690000.00", "0.0625", 360, 30, "current"),
    L("LN-9002", "tran", ESCROWED, "540000.00", "0.0675", 360, 20, "dpd-45"),
    L("LN-9003", "park", AUTO, "42000.00", "0.0699", 60, 12, "current"),
    L("LN-9004", "reyes", MORTGAGE, "610000.00", "0.06375", 360, 24, "late-fee"),
    L("LN-9005", "hassan", PERSONAL, "250000.00", "0.22", 48, 10, "dpd-10"),
    L("LN-9006", "otaibi", MORTGAGE, "950000.00", "0.055", 300, 18, "current"),
)


@dataclass(frozen=True)
class DemoCase:
    """A case on a demo loan, opened `days_before` as_of."""

    loan_number: str
    kind: CaseKind
    days_before: int
    summary: str


CASES = (
    DemoCase("LN-1014", CaseKind.PAYOFF_REQUEST, 2, "Payoff statement requested to refinance"),
    DemoCase("LN-1004", CaseKind.NOTICE_OF_ERROR, 6, "Borrower says the late fee was charged by mistake"),
    DemoCase("LN-2006", CaseKind.REQUEST_FOR_INFORMATION, 9, "Borrower asks for the payment history"),
)


@dataclass(frozen=True)
class DemoPromise:
    """A promise to pay a demo borrower made `days_before` as_of, for `days_to_pay` days later, never kept.

    Its last day (its date plus the loan's 15 grace days) has passed by as_of, so end of day finds it broken in the
    demo's last days, opens the follow-up task, and the demo day's outreach queues the follow-up message.
    """

    loan_number: str
    days_before: int
    days_to_pay: int
    channel: str


PROMISES = (DemoPromise("LN-1003", 19, 2, "sms"),)


# -- the plan: boarding rows, escrow bills and dated events, all derived from as_of -----------------


class Action(StrEnum):
    """Something a demo loan does on a given day."""

    PAY = "pay"  # the next installment
    PAY_HALF = "pay_half"
    PAY_EXTRA = "pay_extra"  # the next installment and a tenth more
    PAY_OFF = "pay_off"
    FORBEAR = "forbear"
    MODIFY = "modify"
    OPEN_CASE = "open_case"
    PROMISE = "promise"  # the borrower promises to pay the installment missed, and then does not


PAYMENT_ACTIONS = (Action.PAY, Action.PAY_HALF, Action.PAY_EXTRA, Action.PAY_OFF)


@dataclass(frozen=True, order=True)
class Event:
    """One dated thing a demo loan does; payments carry their DEMO-<loan>-<n> reference."""

    day: date
    loan_number: str
    action: Action
    reference: str = ""
    case: DemoCase | None = field(default=None, compare=False)
    promise: DemoPromise | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DemoEscrowBill:
    """A tax or insurance bill put on an escrowed demo mortgage when it is boarded."""

    loan_number: str
    kind: EscrowKind
    payee: str
    amount: Decimal
    next_due_date: date
    frequency_months: int


@dataclass(frozen=True)
class DemoPlan:
    """Everything the demo does for one anchor date, in the order it does it."""

    as_of: date
    boarded_on: date
    rows: tuple[dict[str, str], ...]
    bills: tuple[DemoEscrowBill, ...]
    events: tuple[Event, ...]

    @property
    def loan_numbers(self) -> list[str]:
        """Return the demo's loan numbers."""
        return [row["loan_number"] for row in self.rows]


def demo_plan(as_of: date) -> DemoPlan:
    """Derive the demo's boarding rows, escrow bills and dated events from the anchor date alone."""
    rows: list[dict[str, str]] = []
    bills: list[DemoEscrowBill] = []
    events: list[Event] = []
    for index, loan in enumerate(LOANS):
        story = STORIES[loan.story]
        history_starts = as_of - timedelta(days=HISTORY_DAYS)
        next_due = _first_due_on_or_after(history_starts, _due_day(loan, story, as_of, index))
        rows.append(_boarding_row(loan, next_due))
        if loan.product == ESCROWED:
            bills.extend(_escrow_bills(loan, as_of, index))
        events.extend(_story_events(loan, story, next_due, as_of))
    events.extend(Event(as_of - timedelta(days=c.days_before), c.loan_number, Action.OPEN_CASE, case=c) for c in CASES)
    events.extend(
        Event(as_of - timedelta(days=p.days_before), p.loan_number, Action.PROMISE, promise=p) for p in PROMISES
    )
    boarded_on = min(date.fromisoformat(r["next_due_date"]) for r in rows) - relativedelta(months=1)
    return DemoPlan(as_of, boarded_on, tuple(rows), tuple(bills), tuple(sorted(events)))


def _due_day(loan: DemoLoan, story: Story, as_of: date, index: int) -> int:
    """Return the day of the month the loan falls due: chosen so a late loan is as late as its story says."""
    if story.days_late is not None:
        return min((as_of - timedelta(days=story.days_late)).day, 28)
    if loan.is_mortgage:
        return 1
    return LOAN_TYPE_DUE_DAYS[index % len(LOAN_TYPE_DUE_DAYS)]


def _first_due_on_or_after(day: date, due_day: int) -> date:
    candidate = day.replace(day=due_day)
    return candidate if candidate >= day else candidate + relativedelta(months=1)


def _boarding_row(loan: DemoLoan, next_due: date) -> dict[str, str]:
    """Return the loan-file row that boards the loan mid-life, its principal where its schedule puts it."""
    person = BORROWERS[loan.borrower]
    place = person.place
    first_due = next_due - relativedelta(months=loan.paid_before)
    originated = first_due - relativedelta(months=1)
    method = InterestMethod.SCHEDULED_30_360 if loan.is_mortgage else InterestMethod.DAILY_ACTUAL_365
    canadian_mortgage = loan.is_mortgage and place.country == "CA"  # Interest Act s.6
    compounding = Compounding.SEMIANNUAL if canadian_mortgage else Compounding.MONTHLY
    principal, rate = Decimal(loan.principal), Decimal(loan.rate)
    payment = level_payment(principal, rate, loan.term, place.currency, compounding)
    balance, period_start = principal, originated
    for number in range(1, loan.paid_before + 1):  # the schedule's balance after the installments paid
        due = due_date_of(first_due, number)
        interest = installment_interest(balance, rate, method, compounding, period_start, due, place.currency)
        balance -= split_installment(balance, payment, interest, number == loan.term)[1]
        period_start = due
    row = {
        "loan_number": loan.number,
        "product": MORTGAGE if loan.is_mortgage else loan.product,
        "borrower_first_name": person.first_name,
        "borrower_last_name": person.last_name,
        "date_of_birth": person.date_of_birth,
        "tax_id_last4": person.tax_id_last4,
        "phone": person.phone,
        "email": f"{loan.borrower}@example.com",
        "postal_code": person.postal_code,
        "country": place.country,
        "locale": place.locale,
        "timezone": place.timezone,
        "currency": place.currency,
        "original_principal": loan.principal,
        "annual_rate": loan.rate,
        "term_months": str(loan.term),
        "origination_date": originated.isoformat(),
        "first_payment_date": first_due.isoformat(),
        "interest_method": method.value,
        "compounding": compounding.value,
        "principal_balance": str(balance),
        "next_due_date": next_due.isoformat(),
        "bank_account_last4": "" if loan.number in NO_BANK_ACCOUNT else _bank_last4(person),
        **_addresses(loan),
    }
    if not loan.is_mortgage:
        row["interest_paid_through"] = (next_due - relativedelta(months=1)).isoformat()
    if late_charge(place.country, Product.MORTGAGE if loan.is_mortgage else Product(loan.product)) is LateCharge.FIXED:
        row["late_fee_amount"] = DEMO_FIXED_LATE_CHARGES[place.currency]  # the demo portfolio's setting
    if loan.product == ESCROWED:
        monthly = _escrow_monthly(loan, place.currency)
        row["escrow_monthly"] = str(monthly)
        row["escrow_balance"] = str(monthly * 4)
    return row


def _bank_last4(person: Borrower) -> str:
    return f"{(int(person.tax_id_last4) * 7 + 1303) % 10000:04d}"


def _yearly_bills(loan: DemoLoan, currency: str) -> tuple[Decimal, Decimal]:
    """Return (property tax, hazard insurance) a year: 1.1% and 0.35% of the original principal."""
    principal = Decimal(loan.principal)
    return to_money(principal * Decimal("0.011"), currency), to_money(principal * Decimal("0.0035"), currency)


def _escrow_monthly(loan: DemoLoan, currency: str) -> Decimal:
    tax, insurance = _yearly_bills(loan, currency)
    return to_money((tax + insurance) / 12, currency)


INSURERS = ("Harborline Insurance", "Northgate Mutual", "Cedar Home Insurance")


def _escrow_bills(loan: DemoLoan, as_of: date, index: int) -> list[DemoEscrowBill]:
    """Return a half-yearly property tax bill due after as_of and a yearly insurance bill paid before it."""
    place = BORROWERS[loan.borrower].place
    tax, insurance = _yearly_bills(loan, place.currency)
    this_month = as_of.replace(day=1)
    return [
        DemoEscrowBill(loan.number, EscrowKind.PROPERTY_TAX, f"{place.city} Tax Collector", tax / 2,
                       this_month + relativedelta(months=1), 6),
        DemoEscrowBill(loan.number, EscrowKind.HAZARD_INSURANCE, INSURERS[index % len(INSURERS)], insurance,
                       this_month - relativedelta(months=2), 12),
    ]  # fmt: skip


def _story_events(loan: DemoLoan, story: Story, next_due: date, as_of: date) -> list[Event]:
    """Return the payments (and workout) the loan's story makes, each installment on its due date."""
    numbering = itertools.count(1)
    events: list[Event] = []

    def add(day: date, action: Action) -> None:
        reference = f"DEMO-{loan.number}-{next(numbering)}" if action in PAYMENT_ACTIONS else ""
        events.append(Event(day, loan.number, action, reference))

    unpaid_from = _oldest_unpaid(story, as_of)
    payoff_day = as_of - timedelta(days=PAYOFF_DAYS_BEFORE) if story.paid_off else None
    regular = Action.PAY_EXTRA if story.extra_principal else Action.PAY
    dues = [next_due + relativedelta(months=k) for k in range(HISTORY_DAYS // 28 + 2)]
    for number, due in enumerate(dues):
        pay_day = due - timedelta(days=EARLY_DAYS) if story.early else due
        if story.late_once and number == 1:
            pay_day = due + timedelta(days=LATE_ONCE_DAYS)
        if unpaid_from is not None and due >= unpaid_from:
            if due == unpaid_from and story.half_paid:
                add(due, Action.PAY_HALF)
            break
        if pay_day > as_of or (payoff_day is not None and pay_day >= payoff_day):
            break
        add(pay_day, regular)
    if payoff_day is not None:
        add(payoff_day, Action.PAY_OFF)
    if story.workout is not None and unpaid_from is not None:
        start = unpaid_from + timedelta(days=story.workout_after_days)
        add(start, Action.FORBEAR if story.workout is WorkoutKind.FORBEARANCE else Action.MODIFY)
        if story.workout is WorkoutKind.MODIFICATION:  # current since: pays each new installment when due
            for due in (d for d in dues if start < d <= as_of):
                add(due, Action.PAY)
    return events


def _oldest_unpaid(story: Story, as_of: date) -> date | None:
    """Return the due date of the installment a late story stops paying at (the same day _due_day chose)."""
    if story.days_late is None:
        return None
    day = as_of - timedelta(days=story.days_late)
    return day.replace(day=min(day.day, 28))


# -- loading -------------------------------------------------------------------------------------------


@dataclass
class LoadCounts:
    """What one load changed."""

    boarded: int = 0
    payments: int = 0
    workouts: int = 0
    cases: int = 0
    promises: int = 0
    eod_days: int = 0

    @property
    def changed(self) -> bool:
        """Tell whether the load changed anything."""
        return any((self.boarded, self.payments, self.workouts, self.cases, self.promises, self.eod_days))


@dataclass(frozen=True)
class DemoServicer:
    """Who the demo's reminders come from, and the contact rules they pass (the deployment's settings)."""

    name: str = "Loanline Demo Servicing"
    phone: str = "+1 800 555 0100"
    rules: ContactRules = DEFAULT_RULES


def load_demo(
    sessions: sessionmaker[Session], *, secret: str, as_of: date, country: str = "US",
    servicer: DemoServicer = DemoServicer(),
) -> str:  # fmt: skip
    """Load the demo portfolio as of `as_of` (idempotent); return a short summary of what is there.

    Last, the anchor day's reminders and outreach are queued through the contact policy at the moment the demo
    conversations happen (after them: a borrower talking to a specialist gets no collection message).
    """
    plan = demo_plan(as_of)
    records = [parse_loan_row(row) for row in plan.rows]
    with sessions() as session:
        anchored_elsewhere = _demo_anchored_elsewhere(session, records)
    if anchored_elsewhere:
        with sessions() as session:
            return (
                "The demo portfolio is already loaded, anchored on another date; nothing changed "
                "(`loanline demo --reset` reloads it).\n" + portfolio_summary(session, plan.loan_numbers)
            )
    counts = LoadCounts()
    with sessions() as session, session.begin():
        counts.boarded = _board(session, plan, records, secret)
    _replay(sessions, plan, country, counts)
    counts.eod_days += len(run_eod(sessions, as_of, country=country).days)
    load_demo_conversations(sessions, as_of)
    queue_demo_outreach(sessions, as_of, servicer)
    with sessions() as session:
        summary = portfolio_summary(session, plan.loan_numbers)
    if not counts.changed:
        return "The demo portfolio is already loaded; nothing changed.\n" + summary
    return f"Demo portfolio loaded as of {as_of.isoformat()}.\n{summary}"


def queue_demo_outreach(sessions: sessionmaker[Session], as_of: date, servicer: DemoServicer) -> int:
    """Queue the reminders and outreach of the demo's last business day; return how many were queued now."""
    with sessions.begin() as session:
        day = business_date(session)
        if day is None:
            return 0
        outreach = Outreach(servicer.rules, load_moment(as_of), servicer.name, servicer.phone)
        return queue_outreach(session, day, outreach).queued


def demo_is_loaded(session: Session) -> bool:
    """Tell whether this database holds the demo portfolio (a load boarded its loans here)."""
    boarded = select(AuditEntry.id).where(AuditEntry.action == DEMO_BOARDED, AuditEntry.subject_type == "demo")
    return session.scalar(boarded.limit(1)) is not None


def _demo_anchored_elsewhere(session: Session, records: Sequence[LoanRecord]) -> bool:
    """Tell whether demo loans are on file with other data (the demo was loaded for another as_of)."""
    fingerprints = {r.loan_number: r.fingerprint for r in records}
    on_file = session.execute(
        select(Loan.loan_number, Loan.source_fingerprint).where(Loan.loan_number.in_(list(fingerprints)))
    ).all()
    return any(fingerprints[number] != fingerprint for number, fingerprint in on_file)


def _board(session: Session, plan: DemoPlan, records: Sequence[LoanRecord], secret: str) -> int:
    """Board the demo loans not yet on file, with their escrow bills; refuse a database it cannot fit."""
    on_file = set(session.scalars(select(Loan.loan_number).where(Loan.loan_number.in_(plan.loan_numbers))))
    last_run = business_date(session)
    if not on_file and last_run is not None and last_run >= plan.boarded_on:
        raise DemoRefused(
            f"end of day already ran through {last_run.isoformat()} here; the demo needs its history from "
            f"{plan.boarded_on.isoformat()}: load it on an empty database (`loanline demo --reset`)"
        )
    report = board_loans(session, [(None, r) for r in records], secret=secret, boarded_on=plan.boarded_on,
                         actor=ACTOR)  # fmt: skip
    if report.refused:
        reasons = "; ".join(f"{r.key}: {r.reason}" for r in report.refused)
        raise DemoRefused(f"demo loans refused: {reasons}")
    boarded = set(report.boarded)
    for bill in plan.bills:
        if bill.loan_number in boarded:
            add_escrow_item(session, bill.loan_number, kind=bill.kind, payee=bill.payee, amount=bill.amount,
                            next_due_date=bill.next_due_date, frequency_months=bill.frequency_months,
                            actor=ACTOR)  # fmt: skip
    if boarded:
        record_audit(session, ACTOR, DEMO_BOARDED, "demo", plan.as_of.isoformat(), {"loans": len(boarded)})
    return len(boarded)


def _replay(sessions: sessionmaker[Session], plan: DemoPlan, country: str, counts: LoadCounts) -> None:
    """Live through the demo's history: end of day up to each event's day, then that day's events."""
    with sessions() as session:
        posted = set(session.scalars(select(Payment.reference).where(Payment.reference.like("DEMO-%"))))
    for day, group in itertools.groupby(plan.events, key=lambda e: e.day):
        todo = [e for e in group if e.reference not in posted]
        if not todo:
            continue
        counts.eod_days += len(run_eod(sessions, day - timedelta(days=1), country=country).days)
        with sessions() as session, session.begin():
            payments = [e for e in todo if e.action in PAYMENT_ACTIONS]
            counts.payments += _post_demo_payments(session, day, payments)
            for event in todo:
                if event.action is Action.FORBEAR:
                    counts.workouts += place_demo_forbearance(session, event.loan_number, event.day, country)
                elif event.action is Action.MODIFY:
                    counts.workouts += modify_demo_loan(session, event.loan_number, event.day, country)
                elif event.case is not None:
                    counts.cases += _open_demo_case(session, event.case, event.day, country)
                elif event.promise is not None:
                    counts.promises += make_demo_promise(session, event.promise, event.day)


def _post_demo_payments(session: Session, day: date, events: Sequence[Event]) -> int:
    """Post the day's demo payments, each for what the loan owes as its story says; return how many posted."""
    if not events:
        return 0
    accounts = load_accounts(session, [e.loan_number for e in events])
    instructions = [
        PaymentInstruction(e.loan_number, _payment_amount(accounts[e.loan_number], e.action, day), day,
                           e.reference, method="ach", source=SOURCE)
        for e in events
    ]  # fmt: skip
    report = post_payments(session, instructions, today=day, business_date=day, actor=ACTOR)
    if report.refused:
        reasons = "; ".join(f"{r.key}: {r.reason}" for r in report.refused)
        raise DemoRefused(f"demo payments refused: {reasons}")
    return len(report.posted)


def _payment_amount(account: Account, action: Action, day: date) -> Decimal:
    """Return what a demo payment pays: the next installment, half of it, a tenth more, or the payoff."""
    if action is Action.PAY_OFF:
        return payoff_quote(account, day, day).total
    if account.is_scheduled:
        installment = account.installment_amount(account.next_installment)
    else:
        installment = account.monthly_payment
    if action is Action.PAY_HALF:
        return to_money(installment / 2, account.currency)
    if action is Action.PAY_EXTRA:
        return installment + to_money(installment / 10, account.currency)
    return installment


def make_demo_promise(session: Session, demo_promise: DemoPromise, made_on: date) -> int:
    """Record the borrower's promise to pay the next installment `days_to_pay` days later; return 1 if made."""
    loan_id = select(Loan.id).where(Loan.loan_number == demo_promise.loan_number).scalar_subquery()
    if session.scalar(select(Promise.id).where(Promise.loan_id == loan_id, Promise.made_by == ACTOR)) is not None:
        return 0
    account = load_accounts(session, [demo_promise.loan_number])[demo_promise.loan_number]
    make_promise(session, demo_promise.loan_number, amount=_payment_amount(account, Action.PAY, made_on),
                 promised_for=made_on + timedelta(days=demo_promise.days_to_pay), today=made_on,
                 channel=demo_promise.channel, actor=ACTOR)  # fmt: skip
    return 1


def place_demo_forbearance(session: Session, loan_number: str, starts_on: date, country: str) -> int:
    """Approve the loan's hardship application and forbear 6 months' payments; return 1 if done."""
    if _has_workout(session, loan_number, WorkoutKind.FORBEARANCE):
        return 0
    case = _approved_hardship(session, loan_number, starts_on, country, "Lost job; asks to pause payments")
    place_forbearance(session, loan_number, months=FORBEARANCE_MONTHS, reduced_payment=ZERO,
                      starts_on=starts_on, actor=ACTOR, case_reference=case)  # fmt: skip
    return 1


def modify_demo_loan(session: Session, loan_number: str, on: date, country: str) -> int:
    """Approve the loan's hardship application and modify it at a lower rate; 1 if done."""
    if _has_workout(session, loan_number, WorkoutKind.MODIFICATION):
        return 0
    case = _approved_hardship(session, loan_number, on, country, "Income cut for good; asks for lower payments")
    modify_loan(session, loan_number, modification_rate=MODIFICATION_RATE, on=on, actor=ACTOR,
                case_reference=case)  # fmt: skip
    return 1


def _has_workout(session: Session, loan_number: str, kind: WorkoutKind) -> bool:
    found = session.scalar(
        select(WorkoutRow.id)
        .join(Loan, Loan.id == WorkoutRow.loan_id)
        .where(Loan.loan_number == loan_number, WorkoutRow.kind == kind.value)
    )
    return found is not None


def _approved_hardship(session: Session, loan_number: str, on: date, country: str, summary: str) -> str:
    """Open a loss-mitigation application and approve it the same day; return its reference."""
    loan_id, borrower_id = _loan_ids(session, loan_number)
    case = open_case(session, CaseKind.LOSS_MITIGATION, opened_on=on, country=country, source=SOURCE,
                     actor=ACTOR, loan_id=loan_id, borrower_id=borrower_id, summary=summary)  # fmt: skip
    for status in ("submitted_complete", "under_review", "approved"):
        move_loss_mitigation(session, case.reference, status, on, ACTOR)
    return case.reference


def _loan_ids(session: Session, loan_number: str) -> tuple[int, int]:
    loan_id, borrower_id = session.execute(
        select(Loan.id, Loan.borrower_id).where(Loan.loan_number == loan_number)
    ).one()
    return loan_id, borrower_id


def _open_demo_case(session: Session, demo_case: DemoCase, opened_on: date, country: str) -> int:
    """Open one of the demo's cases unless it is open already; return 1 if opened."""
    loan_id, borrower_id = _loan_ids(session, demo_case.loan_number)
    exists = session.scalar(
        select(Case.id).where(Case.loan_id == loan_id, Case.kind == demo_case.kind.value, Case.source == SOURCE)
    )
    if exists is not None:
        return 0
    open_case(session, demo_case.kind, opened_on=opened_on, country=country, source=SOURCE, actor=ACTOR,
              loan_id=loan_id, borrower_id=borrower_id, summary=demo_case.summary)  # fmt: skip
    return 1


# -- the summary ---------------------------------------------------------------------------------------


def portfolio_summary(session: Session, loan_numbers: Sequence[str]) -> str:
    """Return a few lines counting the loans by currency, delinquency bucket and product."""
    rows = session.execute(
        select(Loan.currency, Loan.product, Loan.status, Loan.days_past_due, Loan.suspense_balance,
               Loan.fees_balance).where(Loan.loan_number.in_(list(loan_numbers)))
    ).all()  # fmt: skip
    currencies = Counter(r.currency for r in rows)
    products = Counter(r.product for r in rows)
    buckets = Counter(_bucket_or_status(r.status, r.days_past_due) for r in rows)
    last_run = business_date(session)
    return "\n".join(
        [
            f"  {len(rows)} loans, business date {last_run.isoformat() if last_run else 'not set'}",
            "  currencies: " + _counted(currencies, sorted(currencies)),
            "  delinquency: " + _counted(buckets, [*BUCKETS, *sorted(set(buckets) - set(BUCKETS))]),
            "  products: " + _counted(products, sorted(products)),
            f"  {sum(1 for r in rows if r.suspense_balance > 0)} with money in suspense, "
            f"{sum(1 for r in rows if r.fees_balance > 0)} with unpaid fees",
        ]
    )


def _bucket_or_status(status: str, days_past_due: int) -> str:
    return bucket(days_past_due) if status == "active" else status.replace("_", " ")


def _counted(counter: Counter[str], keys: Iterable[str]) -> str:
    return ", ".join(f"{key} {counter[key]}" for key in keys if counter[key])


# -- the borrower table in docs/demo.md ------------------------------------------------------------------


PRODUCT_NAMES = {MORTGAGE: "mortgage", ESCROWED: "mortgage, escrow", AUTO: "auto", PERSONAL: "personal"}


def borrower_table_markdown() -> str:
    """Return the Markdown table of demo loans and the knowledge factors that verify their borrowers."""
    lines = [
        "| Loan | Borrower | Locale | Phone | Date of birth | Tax-id last 4 | Postal code | State "
        "| Product | At the anchor date |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for loan in LOANS:
        person = BORROWERS[loan.borrower]
        place = person.place
        cells = (
            loan.number, person.name, place.locale, person.phone, person.date_of_birth, person.tax_id_last4,
            person.postal_code, f"{place.region} ({place.city})",
            f"{PRODUCT_NAMES[loan.product]}, {place.currency}", STORIES[loan.story].label,
        )  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
