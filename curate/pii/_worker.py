"""Worker-process side of the parallel screen (kept free of heavy top-level imports).

Workers come from a ``forkserver`` whose process has imported presidio and built the default
engine once (``curate.pii._preload``), so each worker starts in milliseconds; where
``forkserver`` is unavailable, or with an NER model, fresh ``spawn`` processes build the engine
in the pool initializer. Either way each worker builds (or inherits) its engine once and reuses
it for every batch.
"""

from __future__ import annotations

import sys

_STATE: dict = {}


class ScreeningError(RuntimeError):
    """Analysis of a text failed; the message names the row, never the text."""


def import_presidio_without_torch() -> None:
    """Import spaCy and presidio with torch hidden, then unhide it.

    spaCy's thinc imports torch when it is installed (about 1.5 s per process) although
    neither a blank pipeline nor presidio's pattern recognizers use it. Only called in worker
    processes without an NER model (a transformer pipeline would need torch); torch stays
    importable afterwards for any other code.
    """
    if "torch" in sys.modules or "presidio_analyzer" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


def init_worker(entities: tuple[str, ...], ner_model: str | None) -> None:
    """Pool initializer: build (or reuse the preloaded) engine once for this process."""
    if ner_model is None:
        import_presidio_without_torch()
    from curate.pii.engine import get_engine, quiet_presidio_logs, warm_up

    quiet_presidio_logs()
    engine = get_engine(tuple(entities), ner_model)
    warm_up(engine)
    _STATE["engine"] = engine


def analyze_batch(args) -> list[list[tuple[str, int, int, float]]]:
    """Analyse one batch: ``(threshold, [(key, text, entity subset or None), ...])``."""
    threshold, items = args
    return analyze_items(_STATE["engine"], items, threshold)


def analyze_items(engine, items, threshold: float) -> list[list[tuple[str, int, int, float]]]:
    """Analyse ``(key, text, subset)`` items; a failure raises :class:`ScreeningError`.

    The error names the row and the exception type only. It is raised outside the ``except``
    block so that the original exception (whose message may quote the text) is not attached
    as ``__context__`` either.
    """
    from curate.pii.engine import analyze_text

    out = []
    for key, text, subset in items:
        failure = None
        try:
            out.append(analyze_text(engine, text, threshold, subset))
        except Exception as exc:  # never let a matched value travel in a message
            failure = type(exc).__name__
        if failure is not None:
            raise ScreeningError(f"PII analysis failed on {key} ({failure}); text not shown")
    return out
