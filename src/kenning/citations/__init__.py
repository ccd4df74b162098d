"""Checking what an answer cites: marker validation and groundedness."""

from kenning.citations.groundedness import assess, groundedness, split_sentences
from kenning.citations.markers import CitedAnswer, cited_numbers, validate

__all__ = ["CitedAnswer", "assess", "cited_numbers", "groundedness", "split_sentences", "validate"]
