"""Ingestion: getting documents in. ``parsers`` turns one file into a ``ParsedDocument``."""
