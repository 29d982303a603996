"""Building the InstructGPT dataset kinds and writing them as Hugging Face datasets."""
