"""Matching: forms working groups for accepted initiatives."""
