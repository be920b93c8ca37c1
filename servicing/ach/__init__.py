"""ACH: bank accounts on file, autopay, the NACHA origination file, returns and notifications of change."""
