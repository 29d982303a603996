"""Build argparse options from a trainer's config dataclass: one source of truth for flags.

Each field becomes ``--field-name``; ``metadata={"help": ...}`` is its help text; booleans get
``--x/--no-x``; ``metadata={"choices": [...]}`` restricts values.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def _base_type(tp: Any) -> Any:
    """``int | None`` -> int; ``list[str]`` stays as is."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0]
    return tp


def parser_for(cls: type[T], prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, formatter_class=_Formatter)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        tp = _base_type(hints[f.name])
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        kw: dict[str, Any] = {"help": f.metadata.get("help", ""), "dest": f.name}
        if not required:
            kw["default"] = (
                f.default if f.default is not dataclasses.MISSING else f.default_factory()
            )
        if tp is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
            continue
        kw["type"] = tp
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        p.add_argument(flag, required=required, **kw)
    return p


def parse_config(cls: type[T], argv: list[str] | None, prog: str, description: str) -> T:
    ns = parser_for(cls, prog, description).parse_args(argv)
    return cls(**vars(ns))


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults and keep the module docstring's line breaks (it holds example commands)."""
