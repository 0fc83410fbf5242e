"""Settings for the test suite: production settings with a throwaway key."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-never-deployed")

from config.settings import *  # noqa: E402,F403
