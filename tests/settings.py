"""Settings for the test suite: production settings with a throwaway key."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-never-deployed")
# Tests that exercise throttling set their own rate; the rest must not meet it.
os.environ.setdefault("RUNTIME_ERRORS_INGEST_RATE", "100000/min")
# Only tests that attach the journal handler capture records; others would
# otherwise write to the journal from a background thread.
os.environ.setdefault("RUNTIME_ERRORS_CAPTURE", "0")

from config.settings import *  # noqa: E402,F403
