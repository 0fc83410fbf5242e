"""Redaction: secrets never reach the database, a push, a page or a log line.

Two rules apply to every report before it is stored. Values under sensitive
keys are replaced, at any depth, in objects, lists and header pairs; a key is
sensitive when one of its words is (``db_password``, ``X-Api-Key``,
``accessToken``), so that ``author`` is not mistaken for ``auth``. Secrets
recognised by their shape are replaced wherever they stand in text: in
messages, stacks and every payload string.

Extra key words and patterns come from the ``RUNTIME_ERRORS_REDACT_KEYS`` and
``RUNTIME_ERRORS_REDACT_PATTERNS`` settings.
"""

import functools
import logging
import re

from django.conf import settings

REDACTED = "[redacted]"

# Single words that make a key sensitive wherever they stand in it.
SENSITIVE_WORDS = frozenset(
    {
        "auth",
        "authorization",
        "apikey",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "dsn",
        "jwt",
        "passphrase",
        "passwd",
        "password",
        "passwords",
        "pwd",
        "privatekey",
        "secret",
        "secrets",
        "session",
        "sessionid",
        "signature",
        "token",
        "accesstoken",
        "refreshtoken",
        "secretkey",
        "accesskey",
        "xsrf",
        "csrf",
        "csrftoken",
    }
)

# Pairs of adjacent words that together make a key sensitive.
SENSITIVE_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("account", "key"),
        ("client", "secret"),
        ("set", "cookie"),
        ("connection", "string"),
        ("conn", "str"),
    }
)

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def key_words(key):
    """Split a key into lower-case words: camelCase, snake, kebab, spaces."""
    return [word.lower() for word in _WORD.findall(key)]


def is_sensitive_key(key):
    """Tell whether values under this key must be redacted."""
    if not isinstance(key, str):
        return False
    words = key_words(key)
    extra = _extra_words()
    if any(word in SENSITIVE_WORDS or word in extra for word in words):
        return True
    if any(pair in SENSITIVE_PAIRS for pair in zip(words, words[1:], strict=False)):
        return True
    return "".join(words) in SENSITIVE_WORDS


def _luhn_valid(digits):
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _redact_card(match):
    digits = re.sub(r"[ -]", "", match.group(0))
    if 13 <= len(digits) <= 19 and _luhn_valid(digits):
        return REDACTED
    return match.group(0)


_SECRET_PARAMS = (
    r"access_token|refresh_token|id_token|token|api_?key|apikey|key|secret|"
    r"client_secret|password|passwd|pwd|sig|signature|auth|session|sessionid|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token"
)

_SECRET_ASSIGNMENT_KEYS = (
    r"[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|"
    r"access[_-]?key|private[_-]?key|auth|credentials?|session[_-]?id|dsn)"
)

# (pattern, replacement); the replacement keeps what helps debugging, such
# as the scheme, user and host of a URL.
_SHAPES = [
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"
            r"(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|[\s\S]*)"
        ),
        REDACTED,
    ),
    (
        re.compile(r"\b([a-z][a-z0-9+.\-]*://)([^\s:@/?#]*):([^\s@/?#]+)@", re.I),
        rf"\1\2:{REDACTED}@",
    ),
    (
        re.compile(
            r"\b(bearer|basic|digest|token|negotiate)(\s+)[\w\-.~+/]{8,}=*", re.I
        ),
        rf"\1\2{REDACTED}",
    ),
    (
        re.compile(
            r"\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key)(\s*[:=]\s*)"
            r"[^\r\n]+",
            re.I,
        ),
        rf"\1\2{REDACTED}",
    ),
    (
        re.compile(rf"([?&;](?:{_SECRET_PARAMS})=)[^&\s#\"'<>]+", re.I),
        rf"\1{REDACTED}",
    ),
    (
        re.compile(
            rf"\b({_SECRET_ASSIGNMENT_KEYS})(\"?'?\s*[:=]\s*[\"']?)"
            r"(?!\[redacted\])[^\s\"'&,;}]+",
            re.I,
        ),
        rf"\1\2{REDACTED}",
    ),
    (
        re.compile(
            r"\b(AccountKey|SharedAccessKey|SharedAccessSignature|SharedSecret)="
            r"[^;\s\"']+",
            re.I,
        ),
        rf"\1={REDACTED}",
    ),
    (
        re.compile(r"\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{5,}"),
        REDACTED,
    ),
    (
        re.compile(
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])"
            r"[A-Z0-9]{16}\b"
        ),
        REDACTED,
    ),
    (
        re.compile(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|"
            r"glpat-[\w-]{20,}|xox[abposre]-[A-Za-z0-9-]{10,}|"
            r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,}|"
            r"AIza[\w-]{35}|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{36}|"
            r"SG\.[\w-]{16,}\.[\w-]{16,})"
        ),
        REDACTED,
    ),
    (
        re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+"),
        f"https://hooks.slack.com/services/{REDACTED}",
    ),
    (re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])"), _redact_card),
]


@functools.cache
def _extra_words_for(words):
    return frozenset(word.lower() for word in words)


def _extra_words():
    return _extra_words_for(tuple(getattr(settings, "RUNTIME_ERRORS_REDACT_KEYS", ())))


@functools.cache
def _extra_patterns_for(patterns):
    return [re.compile(pattern) for pattern in patterns]


def _extra_patterns():
    patterns = tuple(getattr(settings, "RUNTIME_ERRORS_REDACT_PATTERNS", ()))
    return _extra_patterns_for(patterns)


def redact_text(text):
    """Return text with every secret recognised by its shape replaced."""
    if not text:
        return text
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    for pattern in _extra_patterns():
        text = pattern.sub(REDACTED, text)
    return text


def redact_data(value):
    """Return a JSON value with sensitive keys' values and secrets in strings
    replaced, walked without recursion."""
    if isinstance(value, str):
        return redact_text(value)
    if not isinstance(value, dict | list):
        return value

    root = {} if isinstance(value, dict) else []
    pending = [(value, root)]
    while pending:
        source, target = pending.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                target[key] = _redacted_item(key, item, pending)
        else:
            for item in source:
                target.append(_redacted_pair_or_item(item, pending))
    return root


def _redacted_item(key, item, pending):
    if is_sensitive_key(key) and item not in (None, "", [], {}):
        return REDACTED
    if isinstance(item, dict) and _is_named_pair(item):
        item = dict(item)
        if is_sensitive_key(item["name"]):
            item["value"] = REDACTED
    return _walked(item, pending)


def _redacted_pair_or_item(item, pending):
    # Header lists such as [["Authorization", "Bearer …"], …].
    if (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and is_sensitive_key(item[0])
    ):
        return [item[0], REDACTED]
    if (
        isinstance(item, dict)
        and _is_named_pair(item)
        and is_sensitive_key(item["name"])
    ):
        item = {**item, "value": REDACTED}
    return _walked(item, pending)


def _is_named_pair(item):
    return isinstance(item.get("name"), str) and "value" in item


def _walked(item, pending):
    if isinstance(item, str):
        return redact_text(item)
    if isinstance(item, dict | list):
        copy = {} if isinstance(item, dict) else []
        pending.append((item, copy))
        return copy
    return item


class RedactingFilter(logging.Filter):
    """Redact secrets from log records before any handler writes them."""

    def filter(self, record):
        try:
            record.msg = redact_text(record.getMessage())
            record.args = None
        except Exception:  # noqa: BLE001 - a log line must never fail the caller
            return True
        return True
