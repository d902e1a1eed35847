"""Readable summaries and reports."""
