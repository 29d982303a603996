"""Seeded generator of prompt-like texts with planted PII, for tests and ``bench_pii.py``.

About ``pii_rate`` of the texts carry exactly one planted entity: an e-mail address, a phone
number (national and international formats of many countries, valid per ``phonenumbers``), a
card number of every major network (Luhn-valid), a US SSN, an IPv4/IPv6 address or an IBAN
(mod-97 valid). The other texts are clean but full of the numbers prompts really contain -
years, versions, dates, times, prices, order and line numbers, ports, sizes, hashes - which
are the usual sources of false positives.

``generate(n, seed)`` returns :class:`Sample` objects: the text and the planted spans
``(entity_type, start, end)`` in Python string offsets. Nothing here touches the network.
"""

from __future__ import annotations

import ipaddress
import random
import string
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

ENTITY_TYPES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "US_SSN",
    "IP_ADDRESS",
    "IBAN_CODE",
)


@dataclass
class Sample:
    text: str
    planted: list[tuple[str, int, int]] = field(default_factory=list)


# ---------------------------------------------------------------- clean, prompt-like text

_TOPICS = [
    "the French Revolution",
    "photosynthesis",
    "a sourdough starter",
    "Kubernetes pods",
    "the stock market",
    "black holes",
    "my cover letter",
    "a wedding toast",
    "Rust lifetimes",
    "a marathon plan",
    "climate change",
    "the Roman Empire",
    "a birthday poem",
    "SQL joins",
    "machine learning",
    "the water cycle",
    "a job interview",
    "quantum computing",
    "a vegan lasagna",
    "the Pythagorean theorem",
    "a small garden",
    "interest rates",
]
_CLEAN_TEMPLATES = [
    "Explain {topic} to a {age}-year-old in {n} sentences.",
    "Write a {n}-paragraph essay about {topic}.",
    "Give me {n} ideas for {topic}, ranked from best to worst.",
    "Summarize the history of {topic} from {year} to {year2}.",
    "I'm on line {line} of my script and get an error. Python {ver} says `IndexError` at "
    "index {n}. How do I fix it?",
    "My order #{order} hasn't shipped since {date}. Write a polite complaint.",
    "Convert {n} miles to kilometers and {temp} degrees Fahrenheit to Celsius.",
    "The meeting is at {time} on {date}; draft an agenda covering {topic}.",
    "Our revenue grew from ${price} to ${price2} ({pct}%). Write a summary for investors.",
    "Upgrade from version {semver} to {semver2} broke the build. What changed?",
    "The server listens on localhost:{port} but requests time out after {n} seconds.",
    "What is {a} * {b} + {c}? Show the steps.",
    "Translate 'the {n} best things about {topic}' into Spanish.",
    "Write a haiku about {topic}.",
    "Plan a {n}-day trip for {people} people with a budget of ${price}.",
    "Commit {sha} introduced a regression in {topic}; suggest a git bisect plan.",
    "Sort these numbers: {a}, {b}, {c}, {order}, {line}.",
    "Chapter {n}, page {page}: what does the author mean by {topic}?",
    "Ticket {ticket} says the {n}th test fails on Ubuntu {ubuntu}. Any idea why?",
    "The dataset has {big} rows and {n} columns; how should I split it?",
    "Recipe for {n} servings: {n} cups flour, {c} g sugar, bake at {temp} degrees for {n} min.",
    "Compare {topic} in {year} and {year2} in a table with {n} rows.",
    "Rewrite this tweet in a friendlier tone: 'Day {n} of {topic}. Still no results.'",
    "Color {hexcolor} vs {hexcolor2}: which is better for a dark theme?",
    "Why does ffmpeg report {res} at {fps} fps and a bitrate of {kbps} kb/s?",
    "Set the timeout to {ms} ms and retry {n} times with backoff at {time}.",
    "Build {build} of the app crashes on startup. Here is the log from {date} {time}.",
]


# Prose without numbers that prompts wrap their request in.
_FILLER = [
    "I'm preparing a presentation for my team and want it to be clear and engaging.",
    "Please keep the tone friendly but professional, and avoid jargon where you can.",
    "Assume the reader has no background in the subject.",
    "Use short paragraphs and finish with a one-line summary.",
    "My manager asked for this by the end of the week, so concise is better.",
    "If something is ambiguous, state your assumptions before answering.",
    "Write it in British English and include a short title.",
    "I tried searching online but the explanations I found were confusing.",
    "Could you also suggest a couple of follow-up questions I could ask?",
    "Format the answer as a bulleted list with a brief introduction.",
    "This is for a blog post aimed at beginners, so keep it approachable.",
    "Thanks in advance, this has been bugging me all day.",
    "Please double-check the reasoning and point out any common mistakes.",
    "Give an example for each point so that it is easier to follow.",
    "Avoid repeating the question back to me; get straight to the answer.",
]


def _semver(r: random.Random) -> str:
    return f"{r.randint(0, 12)}.{r.randint(0, 30)}.{r.randint(0, 20)}"


def _clean_text(r: random.Random) -> str:
    tpl = r.choice(_CLEAN_TEMPLATES)
    year = r.randint(1700, 2024)
    fields = {
        "topic": r.choice(_TOPICS),
        "age": r.randint(5, 12),
        "n": r.randint(2, 40),
        "year": year,
        "year2": year + r.randint(1, 200),
        "line": r.randint(10, 9999),
        "ver": f"3.{r.randint(6, 13)}.{r.randint(0, 12)}",
        "order": r.randint(100000, 999999),
        "date": r.choice(
            [
                f"{r.randint(2015, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/{r.randint(2015, 2025)}",
                f"{r.randint(1, 28)}.{r.randint(1, 12)}.{r.randint(2015, 2025)}",
            ]
        ),
        "temp": r.randint(-20, 450),
        "time": f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
        "price": f"{r.randint(1, 999)},{r.randint(0, 999):03d}",
        "price2": f"{r.randint(1, 999)},{r.randint(0, 999):03d}.{r.randint(0, 99):02d}",
        "pct": f"{r.uniform(0, 99):.1f}",
        "semver": _semver(r),
        "semver2": _semver(r),
        "port": r.choice([80, 443, 3000, 5432, 8000, 8080, 8443, 9200]),
        "a": r.randint(1, 99999),
        "b": r.randint(1, 999),
        "c": r.randint(1, 9999),
        "people": r.randint(2, 12),
        "sha": "".join(r.choice("0123456789abcdef") for _ in range(r.choice([7, 12, 40]))),
        "page": r.randint(1, 900),
        "ticket": f"{r.choice(['JIRA', 'BUG', 'OPS'])}-{r.randint(1, 99999)}",
        "ubuntu": r.choice(["20.04", "22.04", "24.04"]),
        "big": f"{r.randint(1, 99)},{r.randint(0, 999):03d},{r.randint(0, 999):03d}",
        "hexcolor": "#" + "".join(r.choice("0123456789abcdef") for _ in range(6)),
        "hexcolor2": "#" + "".join(r.choice("0123456789ABCDEF") for _ in range(6)),
        "res": r.choice(["1920x1080", "1280x720", "3840x2160"]),
        "fps": r.choice([24, 25, 30, 60]),
        "kbps": r.randint(500, 20000),
        "ms": r.randint(100, 60000),
        "build": f"{r.randint(1, 30)}.{r.randint(0, 9)}.{r.randint(1000, 99999)}",
    }
    text = tpl.format(**fields)
    if r.random() < 0.3:
        text += " " + r.choice(_CLEAN_TEMPLATES).format(**fields)
    if r.random() < 0.6:
        text = r.choice(_FILLER) + " " + text
    for _ in range(r.randint(0, 2)):
        text += " " + r.choice(_FILLER)
    return text


# ---------------------------------------------------------------- planted values

_FIRST = [
    "anna",
    "ben",
    "carla",
    "dmitri",
    "emeka",
    "fatima",
    "george",
    "hana",
    "ivan",
    "julia",
    "kenji",
    "lena",
    "marco",
    "nadia",
    "oscar",
    "priya",
    "quinn",
    "rosa",
    "sven",
    "tariq",
]
_LAST = [
    "smith",
    "müller",
    "garcia",
    "okafor",
    "tanaka",
    "kowalski",
    "nguyen",
    "rossi",
    "johansson",
    "dubois",
    "patel",
    "kim",
    "silva",
    "ivanova",
    "obrien",
    "novak",
]
_DOMAINS = [
    "gmail.com",
    "example.org",
    "outlook.com",
    "company.co.uk",
    "uni-heidelberg.de",
    "mail.ru",
    "yahoo.co.jp",
    "proton.me",
    "acme-corp.io",
    "stanford.edu",
    "web.de",
]


def _email(r: random.Random) -> str:
    first, last = r.choice(_FIRST), r.choice(_LAST).replace("ü", "u")
    local = r.choice(
        [
            f"{first}.{last}",
            f"{first}{r.randint(1, 99)}",
            f"{first[0]}{last}",
            f"{first}_{last}",
            f"{first}+news",
            f"{last}.{first}{r.randint(70, 99)}",
        ]
    )
    return f"{local}@{r.choice(_DOMAINS)}"


_PHONE_REGIONS_NATIONAL = [
    "US",
    "GB",
    "DE",
    "FR",
    "IN",
    "BR",
    "AU",
    "ES",
    "IT",
    "NL",
    "MX",
    "JP",
    "CA",
    "CH",
    "SE",
]
_PHONE_REGIONS_INTL = _PHONE_REGIONS_NATIONAL + [
    "ZA",
    "SG",
    "KR",
    "AR",
    "PL",
    "IE",
    "NG",
    "AE",
    "NZ",
    "PT",
    "TR",
    "EG",
    "PH",
    "BE",
]


def _valid_number(r: random.Random, region: str) -> phonenumbers.PhoneNumber:
    kind = r.choice([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(
        region
    )
    national = str(example.national_number)
    for _ in range(200):
        keep = max(2, len(national) - r.randint(4, 6))
        digits = national[:keep] + "".join(r.choice(string.digits) for _ in national[keep:])
        candidate = phonenumbers.PhoneNumber(
            country_code=example.country_code,
            national_number=int(digits),
            italian_leading_zero=example.italian_leading_zero,
        )
        if phonenumbers.is_valid_number(candidate):
            return candidate
    return example


def _phone(r: random.Random) -> str:
    style = r.random()
    if style < 0.25:  # US styles people type
        number = _valid_number(r, "US")
        d = str(number.national_number)
        a, b, c = d[:3], d[3:6], d[6:]
        return r.choice(
            [
                f"({a}) {b}-{c}",
                f"{a}-{b}-{c}",
                f"{a}.{b}.{c}",
                f"+1 {a} {b} {c}",
                f"+1-{a}-{b}-{c}",
                f"1-{a}-{b}-{c}",
            ]
        )
    if style < 0.6:
        region = r.choice(_PHONE_REGIONS_NATIONAL)
        number = _valid_number(r, region)
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    region = r.choice(_PHONE_REGIONS_INTL)
    number = _valid_number(r, region)
    fmt = r.choice([PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164])
    text = phonenumbers.format_number(number, fmt)
    if r.random() < 0.15:
        text = "00" + text[1:]
    return text


# (prefix, length) per network; prefixes chosen inside each network's issuer range
_CARD_SPECS = [
    ("4", 16),
    ("4", 13),
    ("4", 19),  # Visa
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("23", 16),
    ("26", 16),  # Mastercard
    ("34", 15),
    ("37", 15),  # Amex
    ("6011", 16),
    ("65", 16),
    ("644", 16),
    ("6011", 19),  # Discover
    ("36", 14),
    ("300", 14),
    ("305", 14),  # Diners
    ("3528", 16),
    ("3589", 16),
    ("1800", 15),
    ("2131", 15),  # JCB
    ("5018", 12),
    ("6304", 12),
    ("6759", 16),
    ("5020", 19),
    ("6762", 13),  # Maestro
    ("62", 16),
    ("62", 19),  # UnionPay
    ("2200", 16),
    ("2204", 16),  # Mir
]


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def _card(r: random.Random) -> str:
    prefix, length = r.choice(_CARD_SPECS)
    body = prefix + "".join(r.choice(string.digits) for _ in range(length - len(prefix) - 1))
    digits = _luhn_complete(body)
    sep = r.choice(["", " ", "-"])
    if not sep:
        return digits
    if length == 14 or (length == 15 and prefix in ("34", "37")):  # 4-6-4 / 4-6-5
        groups = [digits[:4], digits[4:10], digits[10:]]
    else:
        groups = [digits[i : i + 4] for i in range(0, length, 4)]
    return sep.join(groups)


def _ssn(r: random.Random) -> str:
    area = r.choice([a for a in range(1, 900) if a != 666])
    group, serial = r.randint(1, 99), r.randint(1, 9999)
    sep = r.choice(["-", "-", "-", " "])
    return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"


def _ip(r: random.Random) -> str:
    if r.random() < 0.6:
        while True:
            addr = ipaddress.IPv4Address(r.getrandbits(32))
            if addr.is_global:
                return str(addr)
    addr = ipaddress.IPv6Address((0x2001 << 112) | r.getrandbits(112))
    if r.random() < 0.3:
        addr = ipaddress.IPv6Address((0x2001_0DB8 << 96) | r.getrandbits(16))
    return addr.compressed if r.random() < 0.7 else addr.exploded


_IBAN_BBAN = {  # country -> BBAN layout: n digits, a upper-case letters, c alphanumerics
    "DE": "18n",
    "GB": "4a,14n",
    "FR": "10n,11c,2n",
    "NL": "4a,10n",
    "ES": "20n",
    "IT": "1a,10n,12c",
    "BE": "12n",
    "CH": "5n,12c",
    "AT": "16n",
    "PL": "24n",
}


def _iban(r: random.Random) -> str:
    country = r.choice(sorted(_IBAN_BBAN))
    bban = ""
    for part in _IBAN_BBAN[country].split(","):
        n, kind = int(part[:-1]), part[-1]
        pool = {
            "n": string.digits,
            "a": string.ascii_uppercase,
            "c": string.digits + string.ascii_uppercase,
        }[kind]
        bban += "".join(r.choice(pool) for _ in range(n))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    iban = f"{country}{check:02d}{bban}"
    if r.random() < 0.5:
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


_MAKERS = {
    "EMAIL_ADDRESS": _email,
    "PHONE_NUMBER": _phone,
    "CREDIT_CARD": _card,
    "US_SSN": _ssn,
    "IP_ADDRESS": _ip,
    "IBAN_CODE": _iban,
}

# Sentences that carry the value; about a third without any context word.
_PLANT_TEMPLATES = {
    "EMAIL_ADDRESS": [
        "My email is {v}.",
        "Send the draft to {v} when done.",
        "cc {v} please",
        "Reply to {v} with the summary.",
        "Contact: {v}",
    ],
    "PHONE_NUMBER": [
        "Call me at {v} tomorrow.",
        "My number is {v}.",
        "Text {v} if late.",
        "Phone: {v}",
        "You can reach me on {v} after 5pm.",
        "Mobile {v}",
        "Ping {v} once the draft is ready.",
        "Book it under {v}, thanks.",
    ],
    "CREDIT_CARD": [
        "Charge it to my card {v}.",
        "Card number: {v}, exp 09/27.",
        "Use {v} for the payment.",
        "Here is my visa {v}",
        "Pay with {v} please.",
    ],
    "US_SSN": [
        "My SSN is {v}.",
        "Social security number: {v}",
        "SSN {v} on the form",
        "Fill in the form with {v} as my social security number.",
    ],
    "IP_ADDRESS": [
        "The server at {v} is down.",
        "Why can't I ping {v}?",
        "Block IP {v} now.",
        "Requests from {v} get 403 errors.",
        "ssh into {v} fails.",
    ],
    "IBAN_CODE": [
        "Transfer the money to IBAN {v}.",
        "My bank account is {v}.",
        "Wire it to {v} by Friday.",
        "IBAN: {v}",
    ],
}


def plant(r: random.Random, entity_type: str) -> Sample:
    value = _MAKERS[entity_type](r)
    sentence = r.choice(_PLANT_TEMPLATES[entity_type])
    head = _clean_text(r) + " " if r.random() < 0.7 else ""
    before, after = sentence.split("{v}")
    text = head + before + value + after
    start = len(head) + len(before)
    if r.random() < 0.3:
        text += " " + _clean_text(r)
    return Sample(text=text, planted=[(entity_type, start, start + len(value))])


def generate(n: int, seed: int = 0, pii_rate: float = 0.05) -> list[Sample]:
    """``n`` samples; each carries one planted entity with probability ``pii_rate``."""
    r = random.Random(seed)
    out = []
    for _ in range(n):
        if r.random() < pii_rate:
            out.append(plant(r, r.choice(ENTITY_TYPES)))
        else:
            out.append(Sample(text=_clean_text(r)))
    return out


def score(samples: list[Sample], detected: list[list[tuple[str, int, int]]]) -> dict:
    """Recall of planted entities, span precision and clean-text flag rate.

    * ``recall``: planted entities found as a span of the same type overlapping it;
    * ``exact_recall``: ... with exactly the planted offsets;
    * ``span_precision``: detected spans equal (type and offsets) to a planted span, over all
      detected spans (clean texts included);
    * ``clean_flagged``: share of clean texts with any detection.
    """
    planted_total = found = exact = detected_total = detected_exact = 0
    clean = clean_flagged = 0
    per_type: dict[str, list[int]] = {t: [0, 0] for t in ENTITY_TYPES}
    for sample, spans in zip(samples, detected, strict=True):
        spans = [tuple(s[:3]) for s in spans]
        detected_total += len(spans)
        planted = set(sample.planted)
        detected_exact += sum(1 for s in spans if s in planted)
        if not sample.planted:
            clean += 1
            clean_flagged += bool(spans)
        for t, a, b in sample.planted:
            planted_total += 1
            per_type[t][1] += 1
            hit = any(s[0] == t and s[1] < b and a < s[2] for s in spans)
            found += hit
            per_type[t][0] += hit
            exact += (t, a, b) in spans
    return {
        "planted": planted_total,
        "recall": found / planted_total if planted_total else 1.0,
        "exact_recall": exact / planted_total if planted_total else 1.0,
        "span_precision": detected_exact / detected_total if detected_total else 1.0,
        "clean_texts": clean,
        "clean_flagged": clean_flagged / clean if clean else 0.0,
        "recall_by_type": {t: (f / n if n else None) for t, (f, n) in per_type.items()},
    }
