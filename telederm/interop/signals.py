"""Connects the clinical events of lower apps to the messages they cause (filled in by triggers)."""
