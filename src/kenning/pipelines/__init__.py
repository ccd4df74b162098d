"""Plain compositions of the stages: indexing (and, later, answering)."""
