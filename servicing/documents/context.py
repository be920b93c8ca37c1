"""What every document prints: the servicer's letterhead, the recipient's address block, the loan's header.

Address lines follow each country's order (city, region and postal code on one line in the US and Canada,
postal code before the city in most of Europe, Brazil and Indonesia; the United Kingdom's town and postcode
on lines of their own), and the country's name only when it is not the servicer's country.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel import Locale

from servicing.store.models import Borrower, Loan

# How the last lines of an address read: "{city} {region} {postal}" etc. A country not listed reads like the US.
ADDRESS_FORMS = {
    "US": ("{city} {region} {postal}",),
    "CA": ("{city} {region} {postal}",),
    "GB": ("{city}", "{postal}"),
    "IN": ("{city} {postal}", "{region}"),
    "BR": ("{city} - {region}", "{postal}"),
    "ID": ("{city} {postal}", "{region}"),
    "DE": ("{postal} {city}",),
    "FR": ("{postal} {city}",),
    "IT": ("{postal} {city} {region}",),
    "ES": ("{postal} {city} {region}",),
}


@dataclass(frozen=True)
class Address:
    line1: str | None
    line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None

    def is_mailable(self) -> bool:
        """Tell whether paper can be addressed: a street line, a city or postal code, a country."""
        return bool(self.line1 and (self.city or self.postal_code) and self.country)

    def lines(self, home_country: str) -> list[str]:
        """Return the address as printed, in the country's order; the country's name when it is abroad."""
        country = (self.country or home_country).upper()
        values = {"city": self.city or "", "region": self.region or "", "postal": self.postal_code or ""}
        tail = [
            " ".join(form.format(**values).split()).strip(" -")
            for form in ADDRESS_FORMS.get(country, ADDRESS_FORMS["US"])
        ]
        lines = [line for line in (self.line1, self.line2, *tail) if line]
        if country != home_country.upper():
            lines.append(Locale("en").territories.get(country, country).upper())
        return lines


def mailing_address(borrower: Borrower) -> Address:
    return Address(borrower.mailing_line1, borrower.mailing_line2, borrower.mailing_city, borrower.mailing_region,
                   borrower.mailing_postal_code, borrower.mailing_country)  # fmt: skip


def property_address(loan: Loan) -> Address:
    return Address(loan.property_line1, loan.property_line2, loan.property_city, loan.property_region,
                   loan.property_postal_code, loan.property_country)  # fmt: skip


def servicer_block(name: str, phone: str, address: str) -> dict[str, Any]:
    """Return the letterhead: the servicer's name, phone and return address lines."""
    return {"name": name, "phone": phone, "address": [part.strip() for part in address.split(",") if part.strip()]}


def recipient_block(borrower: Borrower, home_country: str) -> list[str] | None:
    """Return the address block for the window: the borrower's name and mailing address, or None without one."""
    address = mailing_address(borrower)
    if not address.is_mailable():
        return None
    return [f"{borrower.first_name} {borrower.last_name}", *address.lines(home_country)]


def loan_block(loan: Loan, home_country: str) -> dict[str, Any]:
    """Return the loan's header: its number, product, currency and property address on one line."""
    place = property_address(loan)
    return {
        "number": loan.loan_number,
        "product": loan.product,
        "currency": loan.currency,
        "property": ", ".join(place.lines(home_country)) if place.line1 else None,
    }
