"""curate: raw prompt logs to InstructGPT-style datasets."""

__version__ = "0.1.0"
