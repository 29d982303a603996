"""Offline construction of presidio's AnalyzerEngine, and the per-text analysis used by steps.

Nothing here downloads anything:

* the NLP engine is a blank spaCy English pipeline (tokenizer only; a small component copies
  the lower-cased token text into the lemma so presidio's context words work), or the spaCy
  pipeline named by ``ner_model`` loaded with ``spacy.load`` (a package name or a path; never
  ``spacy download``);
* ``tldextract`` is pinned to the public-suffix snapshot bundled with it (no suffix-list URLs,
  no cache directory), and presidio's e-mail recognizer is pointed at that extractor.

Build the engine once per process with :func:`get_engine` (cached) and call
:func:`analyze_text`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from curate.pii.prepass import gate_allows

log = logging.getLogger(__name__)

BASE_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "US_SSN",
    "IP_ADDRESS",
    "IBAN_CODE",
)
NER_ENTITIES = ("PERSON", "LOCATION")

# When spans of different types overlap, the higher score wins; on equal scores this order.
_PRIORITY = {
    name: i
    for i, name in enumerate(
        ("CREDIT_CARD", "IBAN_CODE", "EMAIL_ADDRESS", "IP_ADDRESS", "US_SSN", "PHONE_NUMBER")
    )
}

_REPLACED = ("CreditCardRecognizer", "PhoneRecognizer", "IbanRecognizer")

_pinned_extractor = None


def pinned_tldextract():
    """A ``tldextract.TLDExtract`` that only uses the bundled suffix snapshot (no network)."""
    global _pinned_extractor
    if _pinned_extractor is None:
        import tldextract

        _pinned_extractor = tldextract.TLDExtract(
            suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True
        )
    return _pinned_extractor


def pin_presidio_tldextract() -> None:
    """Make presidio's EmailRecognizer validate domains with the offline extractor.

    ``EmailRecognizer.validate_result`` calls ``tldextract.extract`` through its module's
    ``tldextract`` global; that global is replaced by a namespace whose ``extract`` is the
    pinned extractor. Idempotent.
    """
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    extractor = pinned_tldextract()
    email_recognizer.tldextract = types.SimpleNamespace(extract=extractor, TLDExtract=None)


def _lemma_component():
    import spacy
    from spacy.language import Language

    name = "curate_lower_lemma"
    if not Language.has_factory(name):

        @Language.component(name)
        def lower_lemma(doc):  # pragma: no cover - trivial
            for token in doc:
                token.lemma_ = token.lower_
            return doc

    return spacy, name


def load_spacy_pipeline(ner_model: str | None):
    """A spaCy pipeline, without any download: blank English or ``spacy.load(ner_model)``."""
    spacy, lemma = _lemma_component()
    if ner_model is None:
        nlp = spacy.blank("en")
    else:
        if not (spacy.util.is_package(ner_model) or Path(ner_model).exists()):
            raise ValueError(
                "NER model is neither an installed spaCy package nor a path; "
                "install it or pass a directory saved with nlp.to_disk (nothing is downloaded)"
            )
        nlp = spacy.load(ner_model)
    if "lemmatizer" not in nlp.pipe_names:
        nlp.add_pipe(lemma, last=True)
    return nlp


def _nlp_engine(ner_model: str | None):
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    class _PreloadedSpacyNlpEngine(SpacyNlpEngine):
        """SpacyNlpEngine over a pipeline we loaded ourselves (its load() may download)."""

        def __init__(self, nlp):
            super().__init__(
                models=[{"lang_code": "en", "model_name": "preloaded"}],
                ner_model_configuration=NerModelConfiguration(),
            )
            self.nlp = {"en": nlp}

        def load(self) -> None:  # already loaded
            pass

    return _PreloadedSpacyNlpEngine(load_spacy_pipeline(ner_model))


@lru_cache(maxsize=1)
def _lazy_artifacts_class():
    from presidio_analyzer.nlp_engine import NlpArtifacts

    class LazyNlpArtifacts(NlpArtifacts):
        """presidio NlpArtifacts computed only when something reads them.

        Pattern recognizers never look at the artifacts; presidio's context enhancer reads
        them only for texts with at least one raw result, and the NER recognizer always.
        Running the spaCy pipeline lazily gives exactly the artifacts presidio would compute
        itself, but skips tokenising the (many) texts on which no recognizer fires.
        """

        def __init__(self, nlp_engine, text: str):  # NlpArtifacts.__init__ runs on demand
            self.nlp_engine = nlp_engine
            self._text = text

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            real = self.nlp_engine.process_text(self._text, "en")
            self.__dict__.update(real.__dict__)
            return getattr(real, name)

    return LazyNlpArtifacts


def _lazy_artifacts(nlp_engine, text: str):
    return _lazy_artifacts_class()(nlp_engine, text)


@dataclass
class Engine:
    """An AnalyzerEngine plus the settings analysis needs."""

    analyzer: object
    entities: tuple[str, ...]
    ner: bool
    phone_recognizer: object


def build_engine(entities: tuple[str, ...], ner_model: str | None = None) -> Engine:
    """Build an offline AnalyzerEngine that can detect ``entities``."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from curate.pii.recognizers import (
        CardRecognizer,
        CaseInsensitiveIbanRecognizer,
        PhoneNumberRecognizer,
    )

    pin_presidio_tldextract()
    quiet_presidio_logs()
    nlp_engine = _nlp_engine(ner_model)
    registry = RecognizerRegistry(supported_languages=["en"])
    # presidio's predefined recognizers (no NLP recognizer yet) minus the ones we replace
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=None)
    registry.recognizers = [
        rec
        for rec in registry.recognizers
        if type(rec).__name__ not in _REPLACED and type(rec).__name__ != "SpacyRecognizer"
    ]
    registry.add_recognizer(CardRecognizer())
    phone = PhoneNumberRecognizer()
    registry.add_recognizer(phone)
    registry.add_recognizer(CaseInsensitiveIbanRecognizer())
    if ner_model is not None:
        registry.add_nlp_recognizer(nlp_engine=nlp_engine)
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
    supported = set(analyzer.get_supported_entities("en"))
    if ner_model is None:
        supported.discard("PERSON")
        supported.discard("LOCATION")
    unsupported = sorted(set(entities) - supported)
    if unsupported:
        raise ValueError(
            f"entity types not supported by this engine: {unsupported}"
            + ("; PERSON/LOCATION need --ner-model" if ner_model is None else "")
        )
    return Engine(
        analyzer=analyzer,
        entities=tuple(entities),
        ner=ner_model is not None,
        phone_recognizer=phone,
    )


def get_engine(entities, ner_model: str | None = None) -> Engine:
    """The engine for these settings, built once per process."""
    return _cached_engine(tuple(entities), None if ner_model is None else str(ner_model))


@lru_cache(maxsize=4)
def _cached_engine(entities: tuple[str, ...], ner_model: str | None) -> Engine:
    return build_engine(entities, ner_model)


def build_stock_engine():
    """Stock presidio for comparisons: default registry, blank spaCy engine, offline."""
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    pin_presidio_tldextract()

    class _Blank(SpacyNlpEngine):
        def __init__(self):
            super().__init__(
                models=[{"lang_code": "en", "model_name": "blank"}],
                ner_model_configuration=NerModelConfiguration(),
            )
            self.nlp = {"en": spacy.blank("en")}

        def load(self) -> None:
            pass

    return AnalyzerEngine(nlp_engine=_Blank(), supported_languages=["en"])


Span = tuple[str, int, int, float]


def is_ip_address(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans: higher score first, then longer, then type priority, earlier.

    Deterministic for any input order. Returned sorted by start offset.
    """
    order = sorted(
        spans,
        key=lambda s: (-s[3], -(s[2] - s[1]), _PRIORITY.get(s[0], len(_PRIORITY)), s[1], s[0]),
    )
    chosen: list[Span] = []
    for span in order:
        if all(span[2] <= c[1] or span[1] >= c[2] for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: (s[1], s[2], s[0]))


def analyze_text(
    engine: Engine, text: str, threshold: float, entities: tuple[str, ...] | list[str] | None = None
) -> list[Span]:
    """Detected spans ``(type, start, end, score)`` in ``text``, sorted, non-overlapping.

    ``entities`` restricts analysis to a subset of the engine's types (the pre-pass passes the
    types whose gate matched). Every result of a gated type must contain a gate match (see
    :mod:`curate.pii.prepass`); IP addresses are never reported as phone numbers.
    """
    wanted = list(engine.entities if entities is None else entities)
    if not wanted or not text:
        return []
    # phone scores are final when the recognizer returns them (it applies context itself), so
    # it can drop what cannot reach the threshold; saves presidio's context pass on them
    engine.phone_recognizer.min_score = threshold
    raw = engine.analyzer.analyze(
        text=text,
        language="en",
        entities=wanted,
        score_threshold=threshold,
        nlp_artifacts=_lazy_artifacts(engine.analyzer.nlp_engine, text),
    )
    spans: list[Span] = []
    for r in raw:
        if r.entity_type not in wanted:
            continue
        piece = text[r.start : r.end]
        if not gate_allows(r.entity_type, piece):
            continue
        if r.entity_type == "PHONE_NUMBER" and is_ip_address(piece.strip()):
            continue
        spans.append((r.entity_type, int(r.start), int(r.end), round(float(r.score), 6)))
    return resolve_overlaps(spans)


class _RedactArgs(logging.Filter):
    """Drop the arguments of presidio's log records: some carry the analysed text.

    The record keeps its message template (placeholders stay unformatted).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = str(record.msg)
            record.args = None
        return True


def quiet_presidio_logs() -> None:
    """Install the argument-redacting filter on presidio's logger (idempotent)."""
    logger = logging.getLogger("presidio-analyzer")
    if not any(isinstance(f, _RedactArgs) for f in logger.filters):
        logger.addFilter(_RedactArgs())


_WARM_UP_TEXT = (
    "Call +44 20 7946 0958 or (415) 555-0132, mail a.b@example.com, card 4111 1111 1111 1111, "
    "SSN 123-45-6780, IBAN GB82 WEST 1234 5698 7654 32, host 192.0.2.1 or 2001:db8::1."
)


def warm_up(engine: Engine) -> None:
    """Load what presidio and phonenumbers load lazily, so the first real text is not slow."""
    if getattr(engine, "warm", False):
        return
    import phonenumbers

    from curate.pii.recognizers import NATIONAL_REGIONS

    for region in NATIONAL_REGIONS:
        with contextlib.suppress(phonenumbers.NumberParseException):
            phonenumbers.is_valid_number(phonenumbers.parse("0301234567", region))
    analyze_text(engine, _WARM_UP_TEXT, 0.0)
    engine.warm = True
