"""Generated personal data and secrets inside sentences, for ``bench/policy.py``'s recall.

``samples(kind, n, seed)`` yields ``(text, start, end)``: a value of that kind made by Faker
(or, for keys, by the vendors' published formats with random bodies) in one of several layouts,
placed inside one of several sentences, and that sentence at the start, middle or end of a
longer message. Faker's locales are mixed so phone numbers and IBANs come in each country's
own formats.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable, Iterator

from faker import Faker

from slicewise.tenancy.keys import new_secret

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "en_AU", "pl_PL",
           "sv_SE", "pt_BR", "en_CA", "en_IE", "de_AT", "de_CH", "fr_CH", "nl_BE"]  # fmt: skip
IBAN_LOCALES = ["en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "pl_PL", "pt_PT",
                "de_AT", "de_CH", "nl_BE", "fi_FI", "no_NO", "en_IE", "cs_CZ", "sk_SK",
                "ro_RO", "hu_HU"]  # fmt: skip

SENTENCES = {
    "EMAIL": [
        "Please write to {} about the refund.",
        "Contact: {}",
        "cc {} and me",
        "My address is {}.",
        "<{}>",
        '{{"email": "{}"}}',
        "Send the invoice to {}, thanks!",
        "From: Anna Meyer ({})",
    ],
    "PHONE": [
        "Call me at {} tomorrow.",
        "My phone number is {}.",
        "Tel: {}",
        "Mobile {}",
        "You can reach the front desk on {} if you are late.",
        "Please text {} when you land.",
        "Contact number: {}",
        "Phone: {} (office hours only)",
        "{} is my cell.",
    ],
    "CARD": [
        "My card number is {}.",
        "Card: {}, exp 09/27",
        "Charge {} for the order.",
        "Visa {}",
        '{{"card": "{}"}}',
        "Use {} please",
        "The number on the card is {}.",
    ],
    "IBAN": [
        "Please transfer it to {}.",
        "IBAN: {}",
        "Account {} (Sparkasse)",
        "Pay to {} by Friday.",
        '{{"iban": "{}"}}',
        "My bank account is {}",
    ],
    "SSN": [
        "My SSN is {}.",
        "SSN: {}",
        "Social security number {}",
        "ssn={}",
        "Employee 4411, social security {} (verified)",
    ],
    "IP": [
        "The server at {} is down.",
        "Connect to {} on port 8080",
        "ping {}",
        "Blocked requests from {}.",
        "host={}",
        "Our VPN gateway is {}; use it.",
    ],
    "API_KEY": [
        "Here is my key {} - why does it fail?",
        "export OPENAI_API_KEY={}",
        "Authorization: Bearer {}",
        'client = Client(api_key="{}")',
        "token: {}",
        "I pasted {} into the config.",
    ],
    "PRIVATE_KEY": [
        "Here is the key:\n{}\nwhat is wrong with it?",
        "{}",
        "cat id_rsa\n{}\n$ ssh host",
    ],
    "PASSWORD": [
        "password: {}",
        "pwd={}",
        "PASSWORD={}",
        '{{"password": "{}"}}',
        "My password is {} and it stopped working.",
        "login with user admin, passwd: {}",
        "DB_PASSWORD='{}'",
    ],
}
"""Sentences a value of each kind sits in; ``{}`` is the value."""

NAMED_KEY_SENTENCES = ["Authorization: Bearer {}", "token: {}", 'client = Client(api_key="{}")',
                       "export SERVICE_API_KEY={}", "Here is my key {} - why does it fail?",
                       "The secret is {}."]  # fmt: skip
"""Where a key without a vendor prefix goes: only a sentence that names it makes it one."""

PREFIXES = ("sk-", "sk_", "rk_", "AKIA", "ghp_", "github_pat_", "xoxb-", "AIza", "eyJ")

AROUND = [
    "Hi team,\n\n",
    "Quick question about last week's ticket. ",
    "I am working on the migration script and ran into something odd. ",
    "Summarise the following customer message in two sentences:\n\n",
]
AFTER = [" Thanks a lot!", "\n\nBest regards,\nJordan", " Can you help me fix this?", ""]


def samples(kind: str, n: int, seed: int = 0) -> Iterator[tuple[str, int, int]]:
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES + IBAN_LOCALES}
    for locale, faker in fakers.items():
        faker.seed_instance(seed + len(locale) + sum(map(ord, locale)))
    make = VALUES[kind]
    for _ in range(n):
        value = make(rng, fakers)
        named = kind == "API_KEY" and not value.startswith(PREFIXES)
        sentence = rng.choice(NAMED_KEY_SENTENCES if named else SENTENCES[kind])
        head, tail = sentence.split("{}")
        place = rng.randrange(3)
        before = "" if place == 0 else rng.choice(AROUND)
        after = "" if place == 2 else rng.choice(AFTER)
        text = f"{before}{head}{value}{tail}{after}"
        start = len(before) + len(head)
        yield text, start, start + len(value)


def _email(rng: random.Random, fakers: dict[str, Faker]) -> str:
    faker = fakers[rng.choice(LOCALES)]
    value = rng.choice([faker.email, faker.free_email, faker.company_email, faker.safe_email])()
    if rng.random() < 0.2:
        local, domain = value.split("@")
        first = faker.first_name().lower().replace(" ", "")
        value = f"{first}.{local}+{rng.choice(['news', 'x1'])}@mail.{domain}"
    return value.upper() if rng.random() < 0.05 else value


def _phone(rng: random.Random, fakers: dict[str, Faker]) -> str:
    return str(fakers[rng.choice(LOCALES)].phone_number())


def _card(rng: random.Random, fakers: dict[str, Faker]) -> str:
    kinds = ["visa16", "visa13", "visa19", "mastercard", "amex", "discover", "diners", "jcb16"]
    digits = fakers["en_US"].credit_card_number(rng.choice(kinds))
    layout = rng.choice(["plain", "spaces", "dashes"])
    if layout == "plain":
        return digits
    sizes = [4, 6, 5] if len(digits) == 15 else [4, 6, 4] if len(digits) == 14 else [4] * 5
    groups, at = [], 0
    for size in sizes:
        if at < len(digits):
            groups.append(digits[at : at + size])
            at += size
    return (" " if layout == "spaces" else "-").join(groups)


def _iban(rng: random.Random, fakers: dict[str, Faker]) -> str:
    value = fakers[rng.choice(IBAN_LOCALES)].iban()
    if rng.random() < 0.5:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def _ssn(rng: random.Random, fakers: dict[str, Faker]) -> str:
    value = fakers["en_US"].ssn()
    return rng.choice([value, value.replace("-", " ")])


def _ip(rng: random.Random, fakers: dict[str, Faker]) -> str:
    faker = fakers["en_US"]
    return str(rng.choice([faker.ipv4, faker.ipv4_private, faker.ipv4_public, faker.ipv6])())


def _random(
    rng: random.Random, size: int, alphabet: str = string.ascii_letters + string.digits
) -> str:
    return "".join(rng.choice(alphabet) for _ in range(size))


def _jwt(rng: random.Random) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    header = part({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"})
    payload = part({"sub": str(rng.randrange(10**9)), "iat": rng.randrange(10**9, 2 * 10**9)})
    return f"{header}.{payload}.{_random(rng, 43, string.ascii_letters + string.digits + '-_')}"


KEYS: list[Callable[[random.Random], str]] = [
    lambda r: "sk-" + _random(r, 48),
    lambda r: "sk-proj-" + _random(r, 156, string.ascii_letters + string.digits + "-_"),
    lambda r: "sk-ant-api03-" + _random(r, 93, string.ascii_letters + string.digits + "-_") + "AA",
    lambda r: new_secret(),
    lambda r: "AKIA" + _random(r, 16, string.ascii_uppercase + string.digits),
    lambda r: "ghp_" + _random(r, 36),
    lambda r: "github_pat_" + _random(r, 22) + "_" + _random(r, 59),
    lambda r: f"xoxb-{r.randrange(10**11, 10**12)}-{r.randrange(10**12, 10**13)}-{_random(r, 24)}",
    lambda r: r.choice(["sk_live_", "rk_live_", "sk_test_"]) + _random(r, 24),
    lambda r: "AIza" + _random(r, 35, string.ascii_letters + string.digits + "-_"),
    _jwt,
    lambda r: _random(r, 40, string.ascii_letters + string.digits + "-._~"),  # a bare bearer token
]


def _api_key(rng: random.Random, fakers: dict[str, Faker]) -> str:
    return rng.choice(KEYS)(rng)


def _private_key(rng: random.Random, fakers: dict[str, Faker]) -> str:
    label = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                        "ENCRYPTED PRIVATE KEY"])  # fmt: skip
    body = base64.b64encode(rng.randbytes(rng.randrange(100, 1200))).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----"


def _password(rng: random.Random, fakers: dict[str, Faker]) -> str:
    faker = fakers["en_US"]
    return str(faker.password(length=rng.randrange(8, 20), special_chars=rng.random() < 0.7))


VALUES: dict[str, Callable[[random.Random, dict[str, Faker]], str]] = {
    "EMAIL": _email,
    "PHONE": _phone,
    "CARD": _card,
    "IBAN": _iban,
    "SSN": _ssn,
    "IP": _ip,
    "API_KEY": _api_key,
    "PRIVATE_KEY": _private_key,
    "PASSWORD": _password,
}
