"""Functions that assemble datatrove step lists from a config."""
