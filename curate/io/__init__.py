"""Reading raw records into canonical prompt frames, and writing results atomically."""

from curate.io.readers import ColumnMap, ReadResult, read_prompts
from curate.io.writers import atomic_path, write_frame, write_json

__all__ = ["ColumnMap", "ReadResult", "read_prompts", "atomic_path", "write_frame", "write_json"]
