"""Settings from the environment: a bad value stops start-up, naming it."""

import os
import subprocess
import sys

import pytest

from .live import PROJECT_DIR


def check_with(**environment):
    """Run `manage.py check` with these variables; return the result."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        # The pool's settings apply to PostgreSQL only; nothing connects.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        **environment,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "bad", "good"),
    [
        ("RUNTIME_ERRORS_INGEST_RATE", "10/fortnight", "50000/hour"),
        ("RUNTIME_ERRORS_INGEST_RATE", "abc", "100/s"),
        ("RUNTIME_ERRORS_REDACT_PATTERNS", '["("]', '["MRN-\\\\d{4}"]'),
        ("RUNTIME_ERRORS_REDACT_PATTERNS", '"abc"', "[]"),
        ("RUNTIME_ERRORS_REDACT_PATTERNS", '[""]', '["x+"]'),
        ("RUNTIME_ERRORS_UPDATE_INTERVAL", "-1", "0.25"),
        ("RUNTIME_ERRORS_PRUNE_AFTER_DAYS", "-5", "30"),
        ("CHANNEL_LAYER_GROUP_EXPIRY", "0", "3600"),
        ("DATABASE_POOL_MAX_SIZE", "0", "4"),
        ("DATABASE_POOL_TIMEOUT", "-1", "2"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, bad, good):
    refused = check_with(**{variable: bad})
    accepted = check_with(**{variable: good})

    assert refused.returncode != 0
    assert f'Environment variable "{variable}" invalid' in refused.stderr
    assert accepted.returncode == 0, accepted.stderr
