"""Turning retrieved hits into the numbered, budgeted context a model answers from."""

from kenning.context.assemble import assemble

__all__ = ["assemble"]
