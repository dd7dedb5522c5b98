"""Reproduce the bundled models from BUSI: `python -m training --help`."""
