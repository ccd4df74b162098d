"""Kenning: a self-hosted knowledge and support assistant.

Answers grounded in a company's documents, with citations, respecting who may see what.
Top-level names load lazily so that importing one small module (``kenning.errors``) does
not pull in models and parsers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kenning.library import Kenning
    from kenning.settings import SearchMode, Settings
    from kenning.types import Acl, Principal, SearchFilter

__all__ = ["Acl", "Kenning", "Principal", "SearchFilter", "SearchMode", "Settings"]
__version__ = "0.1.0"

_HOMES = {
    "Kenning": "kenning.library",
    "SearchMode": "kenning.settings",
    "Settings": "kenning.settings",
    "Acl": "kenning.types",
    "Principal": "kenning.types",
    "SearchFilter": "kenning.types",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'kenning' has no attribute {name!r}")
