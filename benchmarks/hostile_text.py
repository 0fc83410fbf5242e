"""Time redaction and grouping on hostile text at two sizes.

Run from the project directory:

    python benchmarks/hostile_text.py

Every report's text goes through redaction and the fingerprint before the
field limits apply, so one request of a megabyte of crafted text must not
cost the square of its length: a regular expression that retries a long run
from each of its positions would hold a server process for minutes. For
each shape below the script times the work on 16 KiB and on 64 KiB of that
shape and prints the ratio of the two, measured in this one run. Linear
work gives a ratio near 4; a ratio near 16 is quadratic.
"""

import os
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

import django  # noqa: E402

django.setup()

from runtime_errors.grouping import compute_fingerprint  # noqa: E402
from runtime_errors.redaction import redact_data, redact_text  # noqa: E402

SMALL = 16 * 1024
LARGE = 64 * 1024
ROUNDS = 3

# A shape is a head written once and a unit repeated up to the size: the
# starts of secrets and frames that never complete.
SHAPES = {
    "dashed JWT starts": ("", "eyJaaaaa-"),
    "harmless keys": ("", "key:"),
    "sensitive keys": ("", "password="),
    "open quote after a key": ('token="', "a"),
    "escaped JSON keys": ("", 'password\\":\\"'),
    "escaped single-quoted keys": ("", "\\'password\\': \\'"),
    "bytes tuple pairs": ("", "(b'token', b'a"),
    "keys after a dotted capital I": ("İ", "Password=a "),
    "authorization schemes": ("", "Bearer "),
    "schemes after keys": ("", "auth=Bearer "),
    "scheme parameters after keys": ("", "auth=Digest a=\n"),
    "Digest starts": ("username=", "Digest "),
    "URL schemes": ("", "a://"),
    "URL passwords": ("", "postgres://a:b"),
    "URL users with @": ("", "s://a@b:c@d:e@"),
    "open private key block": ("-----BEGIN PRIVATE KEY-----", "a\n"),
    "card-like digits": ("", "4111 "),
    "token prefixes": ("", "ghp_xoxb-sk-glpat-"),
    "open quote before digits": ("'", "1"),
    "empty lines": ("", "\n"),
    "blank lines": ("", " \n"),
    "open frame path": ('File "', "a"),
    "IPv6-like runs": ("", "a1:"),
    "command-line options": ("", "--key -pass "),
    "user options": ("", " -u a:--user=b:'-u "),
    "XML elements": ("", "<password>a<token>"),
    "keys after a long word": ("", "a" * 40 + " key="),
    "open XML element": ("<password>", "a"),
    "dotted runs": ("", "abcdefgh.abcdefghijklmnopqrstuvwxyz0123456."),
    "frame locations": ("at ", "/a:1"),
    "at-sign frames": ("", "a@b:1"),
    "month-name dates": ("", "Mon, 01 May 2024 "),
    "access-log dates": ("", "01/May/2024:"),
    "pod names": ("", "web-7d4b9c8f6-"),
}


def text_of(shape, size):
    head, unit = shape
    repeats = (size - len(head)) // len(unit) + 1
    return (head + unit * repeats)[:size]


def fingerprint(text):
    return compute_fingerprint(source="svc", level="error", message=text, stack=text)


def payload(text):
    return redact_data({"context": {"output": text}})


def best_time(work, text):
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        work(text)
        times.append(time.perf_counter() - started)
    return min(times)


def main():
    works = {
        "redact text": redact_text,
        "redact payload": payload,
        "fingerprint": fingerprint,
    }
    print(f"best of {ROUNDS}; ratio = time at 64 KiB / time at 16 KiB")
    print(f"{'shape':28} {'work':15} {'16 KiB':>10} {'64 KiB':>10} {'ratio':>6}")
    worst = 0.0
    for name, shape in SHAPES.items():
        for label, work in works.items():
            small = best_time(work, text_of(shape, SMALL))
            large = best_time(work, text_of(shape, LARGE))
            ratio = large / max(small, 1e-6)
            worst = max(worst, ratio)
            print(
                f"{name:28} {label:15} {small * 1e3:8.2f}ms {large * 1e3:8.2f}ms"
                f" {ratio:6.1f}"
            )
    print(f"worst ratio: {worst:.1f} (4 is linear, 16 is quadratic)")


if __name__ == "__main__":
    main()
