"""Checking derivatives: the op table's self-check and the documented conventions."""
