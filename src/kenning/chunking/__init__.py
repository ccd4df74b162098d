"""Chunking: parsed documents into token-bounded, context-carrying chunks."""

from kenning.chunking.chunker import chunk_document

__all__ = ["chunk_document"]
