"""Synthetic people and records for the demo estate. Deterministic (seeded) and obviously fake:
documentation IP ranges, Ofcom drama phone numbers, example.org mail, invalid NI prefixes."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

FIRST = ["Amara", "Ben", "Chen", "Dafydd", "Ewa", "Farah", "Gareth", "Hana", "Idris", "Jo", "Kiran", "Lena"]
LAST = ["Okafor", "Price", "Li", "Jones", "Nowak", "Hussain", "Evans", "Sato", "Rahman", "Byrne", "Patel"]
NATIONALITIES = ["British", "Polish", "Indian", "Nigerian", "Irish", "Pakistani", "Romanian", "Chinese"]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Victoria Street"]
POSTCODES = ["SW1A 1AA", "M1 1AE", "CF10 1EP", "EH1 1YZ", "BT1 5GS", "LS1 4AP", "B33 8TH"]
ETHNICITY = [
    "White British", "Asian or Asian British: Indian", "Black or Black British: African", "Mixed", "Prefer not to say",
]
RELIGION = ["No religion", "Christian", "Muslim", "Hindu", "Sikh", "Jewish", "Prefer not to say"]
ORIENTATION = ["Heterosexual", "Gay or Lesbian", "Bisexual", "Prefer not to say"]
CONDITIONS = ["asthma", "type 2 diabetes", "depression", "none declared", "hearing impairment"]


class Faker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - seeded, repeatable fake data, never a secret

    def name(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def dob(self) -> str:
        return (date(1950, 1, 1) + timedelta(days=self.rng.randrange(0, 20000))).isoformat()

    def nationality(self) -> str:
        return self.rng.choice(NATIONALITIES)

    def passport(self) -> str:
        return f"{self.rng.randrange(100000000, 999999999)}"

    def address(self) -> str:
        return f"{self.rng.randrange(1, 200)} {self.rng.choice(STREETS)}, {self.rng.choice(POSTCODES)}"

    def nino(self) -> str:
        # QQ is never issued: a real-looking but invalid National Insurance number
        return f"QQ{self.rng.randrange(100000, 999999)}{self.rng.choice('ABCD')}"

    def phone(self) -> str:
        return f"07700 900{self.rng.randrange(0, 999):03d}"

    def email(self, name: str) -> str:
        return name.lower().replace(" ", ".") + "@example.org"

    def ip(self) -> str:
        return f"{self.rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{self.rng.randrange(1, 254)}"

    def choice(self, items):
        return self.rng.choice(items)

    def int(self, low: int, high: int) -> int:
        return self.rng.randrange(low, high)

    def timestamp(self, day: date) -> str:
        moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(
            seconds=self.rng.randrange(0, 86400)
        )
        return moment.isoformat()
