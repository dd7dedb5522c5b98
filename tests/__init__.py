"""The test suite: one folder per package it tests; shared helpers in `tests.helpers`, fixtures in conftest.py."""
