"""Curation steps: plain functions over polars frames returning a :class:`curate.step.StepResult`."""
