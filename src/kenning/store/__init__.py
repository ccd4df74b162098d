"""Where documents, chunks, vectors and ACLs live: the ``Store`` protocol and its backends."""

from kenning.store.base import DocumentWrite, Store, StoredVersion, StoreStats
from kenning.store.sqlite import SQLiteStore, text_hash

__all__ = ["DocumentWrite", "SQLiteStore", "Store", "StoreStats", "StoredVersion", "text_hash"]
