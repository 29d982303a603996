"""schemas/: the single source of column names and types, readable by datasets, arrow and polars."""

import datasets
import polars as pl
import pytest

from curate.schemas import KINDS, REQUIRED, arrow_schema, columns, features, polars_schema


@pytest.mark.parametrize("kind", KINDS)
def test_schema_round_trips_through_datasets_arrow_and_polars(kind):
    feats = features(kind)
    assert isinstance(feats, datasets.Features)
    assert feats.arrow_schema == arrow_schema(kind)
    assert polars_schema(kind) == dict(pl.from_arrow(arrow_schema(kind).empty_table()).schema)
    assert set(REQUIRED[kind]) <= set(columns(kind))
