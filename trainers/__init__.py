"""Small, readable InstructGPT trainers (SFT, K-way reward model, PPO-ptx) in plain torch.

They read the ``sft`` / ``ranking`` / ``pairs`` / ``ppo`` datasets that ``curate build`` writes
(``datasets.DatasetDict`` saved with ``save_to_disk``) with no conversion step. This package imports
only torch, datasets, numpy and the standard library (plus ``transformers`` when a Hugging Face
model folder is offered), so it works without the polars-based curation code.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
