"""Fixtures and helpers shared by several test folders (import as ``support.<module>``)."""
