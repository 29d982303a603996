"""Recognizers that replace or extend presidio's where its defaults fall short.

* :class:`CardRecognizer` - every major card network (Visa 13/16/19, Mastercard 51-55 and the
  2221-2720 series, Amex, Discover, Diners, JCB including 15-digit 1800/2131, Maestro 12-19,
  UnionPay, Mir, RuPay, Troy, Verve, InstaPayment) by issuer prefix and length, Luhn-checked.
* :class:`PhoneNumberRecognizer` - phone numbers in national and international formats. A cheap
  regex finds phone-shaped digit groups; post-filters reject what is not a phone (too few
  digits, order numbers, dates, IPv4 addresses, SSN-shaped numbers, decimals, year ranges);
  ``phonenumbers`` (which presidio already depends on) scores validity; phone context words
  before or shortly after the number raise the score.
* :class:`CaseInsensitiveIbanRecognizer` - presidio's IBAN recognizer (with its checksum) that
  also finds IBANs written in lower case.

Scores follow presidio's conventions: a checksum-validated match scores 1.0, context words add
0.35.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
import regex
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    LocalRecognizer,
    RecognizerResult,
)
from presidio_analyzer.predefined_recognizers import IbanRecognizer

CONTEXT_BOOST = 0.35  # same factor as presidio's LemmaContextAwareEnhancer


def _result(recognizer: EntityRecognizer, start: int, end: int, score: float, boosted: bool):
    return RecognizerResult(
        entity_type=recognizer.supported_entities[0],
        start=start,
        end=end,
        score=score,
        analysis_explanation=AnalysisExplanation(recognizer=recognizer.name, original_score=score),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            # we apply context ourselves; tell presidio's enhancer not to add it again
            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: boosted,
        },
    )


# --------------------------------------------------------------------------- credit cards

# (first digits range as inclusive string prefixes of equal length, allowed lengths, network)
_CARD_RANGES: tuple[tuple[str, str, frozenset[int], str], ...] = (
    ("4", "4", frozenset({13, 16, 19}), "visa"),
    ("51", "55", frozenset({16}), "mastercard"),
    ("2221", "2720", frozenset({16}), "mastercard"),
    ("34", "34", frozenset({15}), "amex"),
    ("37", "37", frozenset({15}), "amex"),
    ("6011", "6011", frozenset(range(16, 20)), "discover"),
    ("644", "649", frozenset(range(16, 20)), "discover"),
    ("65", "65", frozenset(range(16, 20)), "discover"),
    ("622126", "622925", frozenset(range(16, 20)), "discover"),
    ("300", "305", frozenset(range(14, 20)), "diners"),
    ("36", "36", frozenset(range(14, 20)), "diners"),
    ("38", "39", frozenset(range(14, 20)), "diners"),
    ("3528", "3589", frozenset(range(16, 20)), "jcb"),
    ("1800", "1800", frozenset({15}), "jcb"),
    ("2131", "2131", frozenset({15}), "jcb"),
    ("5018", "5018", frozenset(range(12, 20)), "maestro"),
    ("5020", "5020", frozenset(range(12, 20)), "maestro"),
    ("5038", "5038", frozenset(range(12, 20)), "maestro"),
    ("5893", "5893", frozenset(range(12, 20)), "maestro"),
    ("6304", "6304", frozenset(range(12, 20)), "maestro"),
    ("6759", "6759", frozenset(range(12, 20)), "maestro"),
    ("6761", "6763", frozenset(range(12, 20)), "maestro"),
    ("62", "62", frozenset(range(16, 20)), "unionpay"),
    ("2200", "2204", frozenset(range(16, 20)), "mir"),
    ("60", "60", frozenset({16}), "rupay"),
    ("81", "82", frozenset({16}), "rupay"),
    ("508", "508", frozenset({16}), "rupay"),
    ("9792", "9792", frozenset({16}), "troy"),
    ("506099", "506198", frozenset({16, 19}), "verve"),
    ("650002", "650027", frozenset({16, 19}), "verve"),
    ("637", "639", frozenset({16}), "instapayment"),
)


def card_network(digits: str) -> str | None:
    """The card network whose issuer prefix and length fit ``digits`` (ASCII), else None."""
    n = len(digits)
    for low, high, lengths, network in _CARD_RANGES:
        if n in lengths and low <= digits[: len(low)] <= high:
            return network
    return None


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


class CardRecognizer(LocalRecognizer):
    """Card numbers of all major networks: prefix + length + Luhn checksum.

    A run of digit groups separated by single spaces or dashes is split into its groups; the
    whole run or its longest prefix of whole groups with 12-19 digits that passes the checks is
    reported (so a card followed by an expiry year is still found).

    A number whose issuer prefix and length fit a network scores 1.0 (like presidio's
    checksum-validated matches). A Luhn-valid 12-19 digit number outside the published ranges
    (issuers' private ranges, test generators' JCB 35xx or Maestro 56-58xx) scores 0.3, so it
    is reported only when presidio's context enhancer finds a card word before it (+0.35).
    """

    WEAK_SCORE = 0.3
    CONTEXT = [
        "credit",
        "card",
        "debit",
        "visa",
        "mastercard",
        "amex",
        "discover",
        "jcb",
        "maestro",
        "diners",
        "unionpay",
    ]
    _RUN = re.compile(r"(?<![0-9A-Za-z+])[0-9]+(?:[ -][0-9]+)*(?![0-9A-Za-z])")
    _GROUP = re.compile(r"[0-9]+")

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entities=["CREDIT_CARD"],
            supported_language=supported_language,
            name="CurateCardRecognizer",
            context=self.CONTEXT,
        )

    def load(self) -> None:  # noqa: D102
        pass

    def analyze(self, text, entities, nlp_artifacts=None):  # noqa: D102
        results = []
        for run in self._RUN.finditer(text):
            if sum(ch.isdigit() for ch in run.group()) < 12:
                continue
            groups = [
                (m.start() + run.start(), m.end() + run.start())
                for m in self._GROUP.finditer(run.group())
            ]
            # the whole run, or its longest valid prefix of whole groups (a card followed by
            # an expiry year); never a piece from inside a longer number such as an IBAN
            for j in range(len(groups), 0, -1):
                digits = "".join(text[a:b] for a, b in groups[:j])
                if len(digits) > 19:
                    continue
                if len(digits) < 12:
                    break
                if luhn_valid(digits):
                    score = EntityRecognizer.MAX_SCORE if card_network(digits) else self.WEAK_SCORE
                    results.append(_result(self, groups[0][0], groups[j - 1][1], score, False))
                    break
        return results


# --------------------------------------------------------------------------- phone numbers

PHONE_CONTEXT = frozenset(
    [
        "phone",
        "phones",
        "telephone",
        "tel",
        "tel.",
        "mobile",
        "mob",
        "cell",
        "cellphone",
        "call",
        "calls",
        "called",
        "calling",
        "fax",
        "desk",
        "office",
        "home",
        "work",
        "contact",
        "reach",
        "text",
        "texts",
        "sms",
        "whatsapp",
        "signal",
        "viber",
        "telegram",
        "dial",
        "ring",
        "number",
        "hotline",
        "answering",
        "message",
        "messages",
        "voicemail",
        "helpline",
        "landline",
    ]
)

# Regions tried for numbers written without a country code.
NATIONAL_REGIONS = (
    "US", "GB", "DE", "FR", "IN", "BR", "AU", "ES", "IT", "NL", "MX", "JP",
    "CH", "SE", "BE", "IE", "ZA", "PL", "AT", "CN",
)  # fmt: skip

_PHONE_CANDIDATE = regex.compile(
    r"""
    (?<![\w@.:/\\$\u20ac\u00a3#+\-])       # not glued to words, decimals, IPs, paths, amounts
    (?<![0-9],)                              # nor to a thousands separator
    (?:\+|00)?[ ]?                           # international prefix
    \(?[0-9]{1,5}\)?                         # first group, maybe (area code)
    (?:
        (?:[ ]?\(0\))?                       # optional trunk prefix written as (0)
        (?:[ \u00a0]|[ ]?[.\-/][ ]?)?          # one separator
        \(?[0-9]{1,8}\)?
    ){0,6}
    (?:[ ]?(?:x|ext\.?|extension|\#)[ ]?[0-9]{1,6})?   # extension
    (?![\w@/]|-[0-9]|[.:,][0-9])
    """,
    regex.VERBOSE | regex.IGNORECASE,
)
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|extension|#)\s?[0-9]{1,6}$", re.IGNORECASE)
_DATE = re.compile(
    r"^(?:(?:19|20)[0-9]{2}[-/. ][01]?[0-9][-/. ][0-3]?[0-9]"
    r"|[0-3]?[0-9][-/. ][01]?[0-9][-/. ](?:19|20)?[0-9]{2}"
    r"|[01]?[0-9][-/. ][0-3]?[0-9][-/. ](?:19|20)[0-9]{2})$"
)
_YEAR_RANGE = re.compile(r"^(?:19|20)[0-9]{2}\s?[-/]\s?(?:19|20)[0-9]{2}$")
_SSN_SHAPE = re.compile(r"^[0-9]{3}([ .-])[0-9]{2}\1[0-9]{4}$")
_IPV4_SHAPE = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$")
_NANP_SHAPE = re.compile(r"^(?:\+?1[ .-]?)?(?:\([0-9]{3}\)\s?|[0-9]{3}[.-])[0-9]{3}[.-][0-9]{4}$")
_WORD = re.compile(r"[a-z]+\.?")


def _digits(s: str) -> str:
    return "".join(ch for ch in s if "0" <= ch <= "9")


# Words right before a number that say it is something else.
NOT_PHONE_CONTEXT = frozenset(
    [
        "license",
        "licence",
        "passport",
        "order",
        "invoice",
        "tracking",
        "account",
        "acct",
        "ssn",
        "social",
        "security",
        "zip",
        "postal",
        "postcode",
        "isbn",
        "serial",
        "ticket",
        "case",
        "reference",
        "ref",
        "id",
        "policy",
        "commit",
        "sha",
        "hash",
    ]
)


def _context(text: str, start: int, end: int) -> int:
    """+1 for a phone word near the number, -1 for a word saying it is something else, else 0.

    Looks at the last six words before and the first two words after the number.
    """
    before = _WORD.findall(text[max(0, start - 48) : start].lower())
    if any(w.rstrip(".") in NOT_PHONE_CONTEXT for w in before[-4:]):
        return -1
    words = before[-6:] + _WORD.findall(text[end : end + 16].lower())[:2]
    return int(any(w.rstrip(".") in PHONE_CONTEXT for w in words))


@lru_cache(maxsize=4096)
def _phone_validity(core: str) -> str:
    """'intl-valid', 'intl-possible', 'national-valid' or 'none' for a phone-shaped string."""
    cleaned = core.replace("(0)", "")
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if cleaned.startswith("+"):
        try:
            number = phonenumbers.parse(cleaned, None)
        except phonenumbers.NumberParseException:
            return "none"
        if phonenumbers.is_valid_number(number):
            return "intl-valid"
        if phonenumbers.is_possible_number(number):
            return "intl-possible"
        return "none"
    for region in NATIONAL_REGIONS:
        try:
            number = phonenumbers.parse(cleaned, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return "national-valid"
    return "none"


def phone_score(text: str, start: int, end: int) -> float:
    """Score of a phone candidate span, 0.0 when a post-filter rejects it."""
    span = text[start:end]
    core = _EXTENSION.sub("", span).strip()
    digits = _digits(core)
    intl = core.startswith("+") or core.startswith("00")
    n = len(digits) - (2 if core.startswith("00") else 0)
    if n < 7 or n > 15:
        return 0.0  # "line 1699", "order #399937", long ids
    groups = [g for g in re.split(r"[^0-9]+", core) if g]
    if not core.startswith("+"):  # "00..." may be an international prefix or just zeros
        if _DATE.match(core) or _YEAR_RANGE.match(core) or _SSN_SHAPE.match(core):
            return 0.0
        if _IPV4_SHAPE.match(core):
            return 0.0
    if not intl:
        # only dots: phones are written 415.555.0132 or 01.84.17.61.18; anything else
        # (3.14159265, build 26.6.47864, 10.0.19045.2965) is a decimal or a version
        dotted_phone = _NANP_SHAPE.match(core) or (len(groups) >= 4 and min(map(len, groups)) >= 2)
        if "." in core and not re.search(r"[ ()\-/]", core) and not dotted_phone:
            return 0.0
    validity = _phone_validity(core)
    if validity == "intl-valid":
        score = 0.75
    elif validity == "intl-possible":
        score = 0.5
    elif validity == "national-valid":
        if _NANP_SHAPE.match(core):
            score = 0.6
        elif len(groups) >= 3:
            score = 0.5
        else:
            score = 0.4
    else:
        score = 0.3 if len(groups) >= 2 or intl else 0.2
    context = _context(text, start, end)
    if context > 0:
        score = max(score + CONTEXT_BOOST, 0.4)
    elif context < 0 and validity != "intl-valid":
        score = min(score, 0.3)
    return min(score, 0.95)


class PhoneNumberRecognizer(LocalRecognizer):
    """Phone numbers in national and international formats (replaces presidio's)."""

    def __init__(self, supported_language: str = "en"):
        # context handling is done here (window before and after the number), so presidio's
        # enhancer gets no context list for this recognizer
        super().__init__(
            supported_entities=["PHONE_NUMBER"],
            supported_language=supported_language,
            name="CuratePhoneRecognizer",
        )
        # results below this are not returned (their score is final: context is applied here)
        self.min_score = 0.0

    def load(self) -> None:  # noqa: D102
        pass

    def analyze(self, text, entities, nlp_artifacts=None):  # noqa: D102
        results = []
        for match in _PHONE_CANDIDATE.finditer(text):
            start, end = match.span()
            # trim a trailing ')' that has no opening partner, and surrounding spaces
            span = text[start:end]
            while span and span[-1] in " )" and span.count("(") < span.count(")"):
                span = span[:-1]
                end -= 1
            stripped = span.rstrip()
            end -= len(span) - len(stripped)
            lead = len(stripped) - len(stripped.lstrip())
            start += lead
            if start >= end:
                continue
            score = phone_score(text, start, end)
            if score > 0 and score >= self.min_score:
                results.append(_result(self, start, end, score, True))
        return results


# --------------------------------------------------------------------------- IBAN


class CaseInsensitiveIbanRecognizer(IbanRecognizer):
    """presidio's IBAN recognizer (pattern, per-country format, mod-97 checksum), any case.

    presidio's pattern is upper-case only, and making it case-insensitive lets it run into the
    following word ("DE89... Thanks" would be read as one long code). Instead, ASCII words that
    contain a digit are upper-cased (same length, so offsets are unchanged) before presidio's
    case-sensitive pattern runs. The pattern is compiled once (presidio recompiles it through
    ``regex``'s cache on every call, which dominated its cost).

    As in presidio, each match is tried with its optional trailing groups first, and the first
    variant passing ``validate_result`` (checksum and country format) is reported.
    """

    _TOKEN_WITH_DIGIT = re.compile(r"[A-Za-z0-9]*[0-9][A-Za-z0-9]*")

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_language=supported_language, name="CurateIbanRecognizer")
        self._compiled = [
            (p, regex.compile(p.regex, flags=self.global_regex_flags)) for p in self.patterns
        ]

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
        upper = self._TOKEN_WITH_DIGIT.sub(lambda m: m.group().upper(), text)
        results = []
        for pattern, compiled in self._compiled:
            for match in compiled.finditer(upper):
                start = match.start()
                for group in range(len(match.groups()), 0, -1):
                    end = match.end(group) if match.end(group) > 0 else match.end()
                    if end <= start:
                        continue
                    valid = self.validate_result(upper[start:end])
                    if valid is False:
                        continue
                    score = EntityRecognizer.MAX_SCORE if valid else pattern.score
                    results.append(_result(self, start, end, score, False))
                    break
        return results
