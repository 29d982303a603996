"""Imported once by the multiprocessing forkserver: presidio and the default engine, warm.

Workers forked from the server inherit the imported modules and the built engine, so a pool
starts in milliseconds instead of each worker importing spaCy and presidio (about a second).
"""

from curate.pii._worker import import_presidio_without_torch

import_presidio_without_torch()

from curate.pii.engine import BASE_ENTITIES, get_engine, warm_up  # noqa: E402

warm_up(get_engine(BASE_ENTITIES))
