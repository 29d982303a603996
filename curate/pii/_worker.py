"""Worker-process side of the parallel screen (kept free of heavy top-level imports).

A ``spawn`` pool imports this module in each fresh worker, the initializer builds the presidio
engine once, and every batch reuses it.
"""

from __future__ import annotations

import sys

_STATE: dict = {}


class ScreeningError(RuntimeError):
    """Analysis of a text failed; the message names the row, never the text."""


def init_worker(entities: tuple[str, ...], ner_model: str | None, block_torch: bool) -> None:
    """Pool initializer: build the engine once for this process."""
    if block_torch and "torch" not in sys.modules:
        # spaCy's thinc imports torch when it is installed (about 1.5 s per process) although
        # neither a blank pipeline nor presidio's pattern recognizers use it. Workers are fresh
        # spawned processes that only screen text, so hide it from them. A transformer-based
        # --ner-model needs torch, so this is only done without an NER model.
        sys.modules["torch"] = None  # type: ignore[assignment]
    from curate.pii.engine import get_engine, quiet_presidio_logs

    quiet_presidio_logs()
    _STATE["engine"] = get_engine(tuple(entities), ner_model)


def analyze_batch(args) -> list[list[tuple[str, int, int, float]]]:
    """Analyse one batch: ``(threshold, [(key, text, entity subset or None), ...])``."""
    from curate.pii.engine import analyze_text

    threshold, items = args
    engine = _STATE["engine"]
    out = []
    for key, text, subset in items:
        try:
            out.append(analyze_text(engine, text, threshold, subset))
        except Exception as exc:  # never let a matched value travel in a message
            raise ScreeningError(
                f"PII analysis failed on {key} ({type(exc).__name__}); text not shown"
            ) from None
    return out
