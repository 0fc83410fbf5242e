"""Redaction: secrets never reach the database, a push, a page or a log line.

Two rules apply to every report before it is stored, and to the product's
own log lines. Values under sensitive keys are replaced, at any depth, in
objects, lists and header pairs, and after a key in text (``password=…``,
``"token": "…"``, ``?access_token=…``). A key is sensitive when one of its
words is (``db_password``, ``X-Api-Key``, ``accessToken``), so that
``author`` is not taken for ``auth``. Secrets recognised by their shape are
replaced wherever they stand in text: credentials in URLs, authorization
schemes, JWTs, private keys, cloud and SaaS tokens, card numbers.

Extra key words and patterns come from the ``RUNTIME_ERRORS_REDACT_KEYS`` and
``RUNTIME_ERRORS_REDACT_PATTERNS`` settings.
"""

import functools
import logging
import re
import string
import traceback

from django.conf import settings
from django.core.checks import Error, register
from django.core.signals import setting_changed
from django.dispatch import receiver

REDACTED = "[redacted]"

# Words that make a key sensitive wherever they stand in it.
SENSITIVE_WORDS = frozenset(
    {
        "apikey",
        "apikeys",
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "creds",
        "csrf",
        "csrftoken",
        "cvc",
        "cvv",
        "dsn",
        "jwt",
        "otp",
        "pass",
        "passphrase",
        "passwd",
        "password",
        "passwords",
        "pin",
        "pwd",
        "secret",
        "secrets",
        "session",
        "sessionid",
        "sessions",
        "sig",
        "signature",
        "token",
        "tokens",
        "xsrf",
    }
)

# Adjacent words that together make a key sensitive.
SENSITIVE_PAIRS = frozenset(
    {
        ("access", "key"),
        ("account", "key"),
        ("api", "key"),
        ("conn", "str"),
        ("connection", "string"),
        ("encryption", "key"),
        ("master", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("sentry", "key"),
        ("signing", "key"),
        ("subscription", "key"),
    }
)

# Endings that make a run-together lower-case key sensitive: ``dbpassword``,
# ``authtoken``, ``xapikey``.
SENSITIVE_ENDINGS = (
    "accesskey",
    "apikey",
    "credentials",
    "passwd",
    "password",
    "privatekey",
    "secret",
    "secretkey",
    "sessionid",
    "token",
)

# Fragments a sensitive key must contain; a fast search for them finds the
# candidates in text before the word rules decide.
_KEY_FRAGMENTS = (
    "auth",
    "bearer",
    "conn",
    "cookie",
    "cred",
    "csrf",
    "cvc",
    "cvv",
    "dsn",
    "jwt",
    "key",
    "otp",
    "pass",
    "pin",
    "pwd",
    "secret",
    "session",
    "sig",
    "token",
    "xsrf",
)

# Cheap tests that tell a text cannot hold what a costlier pattern finds.
_HEADER_HINTS = ("authorization", "cookie", "api-key", "auth-token", "sentry-auth")
_SCHEME_HINTS = (
    "bearer",
    "basic",
    "digest",
    "token",
    "negotiate",
    "ntlm",
    "apikey",
    "api-key",
)
_CLOUD_HINTS = (
    *("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "AKPA", "ANPA"),
    *("ANVA", "AROA", "A3T", "AIza", "SG."),
    *("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-"),
    *("xox", "xapp-", "sk_", "rk_", "whsec_", "sk-", "npm_"),
)
_LONG_NUMBER = re.compile(r"[0-9][0-9 -]{11,}[0-9]")

# Names whose value runs to the end of the line, as in an HTTP header dump.
_HEADER_LINE = re.compile(
    r"(?<![\w-])((?:proxy-)?authorization|(?:set-)?cookie|x-api-key|"
    r"x-auth-token|x-sentry-auth|api-key)(\s*:[ \t]*)(?!\[redacted\])[^\r\n]+",
    re.I,
)

_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----|\Z)"
)

# scheme:// and what follows it up to white space or a quote; the callable
# finds the password, which runs from the user's first ":" to the last "@",
# since unescaped "@" and "/" do turn up in real passwords, and "@" in user
# names that are addresses. One pass, so hostile text stays linear.
_URL = re.compile(r"\b([a-z][a-z0-9+.\-]{0,30}://)([^\s\"'<>]{3,2048})", re.I)

_AUTH_SCHEME = re.compile(
    r"\b((?i:bearer|basic|digest|token|negotiate|ntlm|api-key|apikey))"
    r"(\s+)([A-Za-z0-9\-._~+/]{8,}=*)"
)

# A Digest credential as clients send it, which starts with the user name;
# a server's challenge (WWW-Authenticate) starts with the realm and is kept.
_DIGEST_PARAMS = re.compile(r"\b((?i:digest)[ \t]++)(?i:username)=[^\r\n]*")

# Schemes that may stand as the value of a sensitive key, with the
# credential after them: `authorization=Bearer …`.
AUTH_SCHEMES = frozenset(
    {
        "apikey",
        "api-key",
        "aws4-hmac-sha256",
        "basic",
        "bearer",
        "digest",
        "hawk",
        "hoba",
        "jwt",
        "mutual",
        "negotiate",
        "ntlm",
        "oauth",
        "sentry",
        "sharedaccesssignature",
        "ssws",
        "token",
    }
)

# What follows such a scheme: a list of parameters (`username="u", …`), which
# may hold quotes and blanks and so runs to the end of the line, or a single
# credential. A credential a shape rule already replaced counts as one.
_SCHEME_CREDENTIAL = re.compile(
    r"([ \t]++)(?:\[redacted\]|[A-Za-z][\w-]*+=(?!=)[^\r\n]*+|[^\s\"',;&}\])<>]++)"
)

# Three dot-separated runs whose second starts like a JWT's payload. A run
# is tried once, from its start, so that a long run of dashed words costs
# one scan and not one per "eyJ" in it; `_redact_jwt` then finds where in
# the first run the token's header begins.
_JWT = re.compile(r"(?<![\w-])([\w-]{8,}\.eyJ[\w-]{5,}\.[\w-]*)")
_JWT_HEADER = re.compile(r"(?:^|(?<=-))eyJ[\w-]{5,}\.")

_CLOUD_KEYS = re.compile(
    r"\b(?:"
    r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|AKPA|ANPA|ANVA|AROA|A3T[A-Z0-9])"
    r"[A-Z0-9]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"
    r"|github_pat_[A-Za-z0-9_]{22,255}"
    r"|glpat-[\w-]{20,}"
    r"|xox[abposre]-[A-Za-z0-9-]{10,}"
    r"|xapp-\d-[A-Za-z0-9-]{10,}"
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|whsec_[A-Za-z0-9+/=]{20,}"
    r"|AIza[\w-]{35}"
    r"|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"
    r"|npm_[A-Za-z0-9]{36}"
    r"|SG\.[\w-]{16,}\.[\w-]{16,}"
    r")\b"
)

# This journal's own ingest keys: an 8-character prefix, a dot and a
# 32-character secret, as `create_ingest_key` prints them. The pattern
# starts at the dot, which the engine finds fast; `_redact_ingest_keys`
# checks the prefix.
_INGEST_KEY_TAIL = re.compile(r"\.[A-Za-z0-9]{32}(?!\w)")
_INGEST_KEY_PREFIX = 8

# curl's -u and --user take user:password. The option must start its
# argument, after a blank or a quote, and neither part holds a blank, a quote
# or "=", so each attempt scans text no other attempt scans.
_USER_OPTION = re.compile(
    r"(?:^|(?<=[\s\"'\[(,]))(-u|--user)([ \t]++|=)([\"']?+)"
    r"([^\s:\"'=]*+:)(?!\[redacted\])([^\s\"']++)"
)


def _redact_user_option(match):
    option, blank, quote, user, password = match.groups()
    if _is_uid_and_gid(f"{user}{password}"):
        return match.group(0)
    return f"{option}{blank}{quote}{user}{REDACTED}"


def _is_uid_and_gid(value):
    # Docker's -u and --user take uid:gid, as in `docker run -u 1000:1000`.
    user, _, group = value.partition(":")
    return user.isdigit() and group.isdigit()


_SLACK_WEBHOOK = re.compile(r"(https://hooks\.slack\.com/services/)[A-Za-z0-9/]+")

# Card numbers start with 2 to 6; the Luhn check then weeds out most ids.
_CARD = re.compile(r"[2-6]\d(?:[ -]?\d){11,17}(?!\d)")


class _Rules:
    """The key words and text patterns in force, built once from settings."""

    def __init__(self, *, extra_keys, extra_patterns):
        self.extra_words = frozenset(
            tuple(key_words(key)) for key in extra_keys if key_words(key)
        )
        self.extra_patterns = [re.compile(pattern) for pattern in extra_patterns]
        fragments = sorted(
            {*_KEY_FRAGMENTS, *(word for words in self.extra_words for word in words)},
            key=len,
            reverse=True,
        )
        self.fragments = tuple(fragments)
        self.fragment = re.compile("|".join(re.escape(word) for word in fragments))


@functools.cache
def _rules():
    return _Rules(
        extra_keys=tuple(getattr(settings, "RUNTIME_ERRORS_REDACT_KEYS", ())),
        extra_patterns=tuple(getattr(settings, "RUNTIME_ERRORS_REDACT_PATTERNS", ())),
    )


@receiver(setting_changed)
def _forget_rules(*, setting, **kwargs):
    if setting in ("RUNTIME_ERRORS_REDACT_KEYS", "RUNTIME_ERRORS_REDACT_PATTERNS"):
        _rules.cache_clear()
        _is_sensitive.cache_clear()


@register()
def check_redaction_settings(app_configs, **kwargs):
    """Refuse to start with an extra redaction pattern that does not compile."""
    errors = []
    for pattern in getattr(settings, "RUNTIME_ERRORS_REDACT_PATTERNS", ()):
        try:
            re.compile(pattern)
        except (re.error, TypeError) as error:
            errors.append(
                Error(
                    f"RUNTIME_ERRORS_REDACT_PATTERNS holds a bad pattern: {error}.",
                    id="runtime_errors.E001",
                )
            )
    return errors


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def key_words(key):
    """Split a key into lower-case words: camelCase, snake, kebab, spaces."""
    return [word.lower() for word in _WORD.findall(key)]


def is_sensitive_key(key):
    """Tell whether values under this key must be redacted."""
    if not isinstance(key, str):
        return False
    if len(key) > 200:
        # Long keys are rare and would crowd the cache out.
        return _is_sensitive.__wrapped__(key, _rules())
    return _is_sensitive(key, _rules())


@functools.lru_cache(maxsize=4096)
def _is_sensitive(key, rules):
    words = key_words(key)
    if any(_is_sensitive_word(word) for word in words):
        return True
    if any(pair in SENSITIVE_PAIRS for pair in zip(words, words[1:], strict=False)):
        return True
    return any(_holds_run(words, extra) for extra in rules.extra_words)


def _is_sensitive_word(word):
    return word in SENSITIVE_WORDS or word.endswith(SENSITIVE_ENDINGS)


def _holds_run(words, run):
    size = len(run)
    return any(tuple(words[i : i + size]) == run for i in range(len(words) - size + 1))


# No shape this module knows fits in fewer characters ("pwd=ab" is six).
_SHORTEST_SECRET = 6
# Tokens, JWTs and card numbers are all at least this long.
_SHORTEST_TOKEN = 13


def redact_text(text):
    """Return text with every secret recognised by its shape replaced."""
    if len(text) < _SHORTEST_SECRET:
        return text
    rules = _rules()
    lowered = _lower_keeping_offsets(text)
    # Most strings are short words or paths; these tests let them skip every
    # pattern that cannot match them.
    has_separator = ":" in text or "=" in text
    has_space = " " in text or "\t" in text or "\n" in text
    is_long = len(text) >= _SHORTEST_TOKEN

    if has_space and "PRIVATE KEY" in text:
        text = _PEM.sub(REDACTED, text)
    if has_separator and "://" in text:
        text = _URL.sub(_redact_url_password, text)
        text = _SLACK_WEBHOOK.sub(rf"\1{REDACTED}", text)
    if has_separator and any(hint in lowered for hint in _HEADER_HINTS):
        text = _HEADER_LINE.sub(rf"\1\2{REDACTED}", text)
    if has_space and any(hint in lowered for hint in _SCHEME_HINTS):
        if "digest" in lowered and "username=" in lowered:
            text = _DIGEST_PARAMS.sub(rf"\1{REDACTED}", text)
        text = _AUTH_SCHEME.sub(_redact_auth_scheme, text)
    if has_separator and ("-u" in text or "--user" in text):
        text = _USER_OPTION.sub(_redact_user_option, text)
    # Keys stand before "=" or ":", in options, tags and quoted pairs.
    may_hold_key = (
        has_separator or "-" in text or "<" in text or "'," in text or '",' in text
    )
    if may_hold_key and any(fragment in lowered for fragment in rules.fragments):
        text = _redact_assignments(text, rules)
    if is_long and "eyJ" in text:
        text = _JWT.sub(_redact_jwt, text)
    if is_long and "." in text:
        text = _redact_ingest_keys(text)
    if is_long and any(hint in text for hint in _CLOUD_HINTS):
        text = _CLOUD_KEYS.sub(REDACTED, text)
    if is_long and _LONG_NUMBER.search(text):
        text = _CARD.sub(_redact_card, text)

    for pattern in rules.extra_patterns:
        text = pattern.sub(REDACTED, text)
    return text


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _lower_keeping_offsets(text):
    # Offsets found in the lowered text are used in the text itself, and
    # "İ".lower() is two characters. Key words are ASCII, so lowering ASCII
    # alone finds them all; lower() is faster and does the same when no
    # character grew.
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = text.translate(_ASCII_LOWER)
    return lowered


def _redact_ingest_keys(text):
    pieces, done = [], 0
    for tail in _INGEST_KEY_TAIL.finditer(text):
        start = tail.start() - _INGEST_KEY_PREFIX
        prefix = text[max(start, 0) : tail.start()]
        before = text[start - 1 : start] if start > 0 else ""
        if start < done or not (prefix.isascii() and prefix.isalnum()):
            continue
        if len(prefix) < _INGEST_KEY_PREFIX or before.isalnum() or before in ("_", "."):
            continue
        pieces.append(text[done:start])
        pieces.append(REDACTED)
        done = tail.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _redact_assignments(text, rules):
    # Only keys that hold a fragment can be sensitive, so the assignment
    # pattern runs from the start of each word that does, not everywhere.
    lowered = _lower_keeping_offsets(text)
    pieces, done = [], 0
    for hit in rules.fragment.finditer(lowered):
        start = _word_start(text, hit.start())
        if start < done:
            continue
        key = _KEY.match(text, start) or _FLAG.match(text, start)
        value_pattern, in_tuple = _VALUE, False
        if key is None and start and text[start - 1] == "<":
            key = _ELEMENT.match(text, start)
            value_pattern = _ELEMENT_TEXT
        elif key is None and _TUPLE_OPEN.search(text, max(start - 5, 0), start):
            key = _TUPLE_KEY.match(text, start)
            in_tuple = True
        if key is None:
            continue
        if not is_sensitive_key(key.group(1)) and not (
            key.re is _KEY and _is_sensitive_after_word(text, start, key.group(1))
        ):
            continue
        value = value_pattern.match(text, key.end())
        if value is None or (in_tuple and not any(value.groups())):
            continue
        if not any(value.groups()) and _names_connection_string(key.group(1)):
            value = _CONNECTION_VALUE.match(text, key.end()) or value
        pieces.append(text[done:start])
        credential = None
        if value.group(0).lower() in AUTH_SCHEMES:
            credential = _SCHEME_CREDENTIAL.match(text, value.end())
        if credential is None:
            pieces.append(_assignment_replacement(key, value))
            done = value.end()
        else:
            pieces.append(f"{key.group(0)}{value.group(0)}{credential.group(1)}")
            pieces.append(REDACTED)
            done = credential.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


# "api key = …": a word across one blank before a key may make a pair.
_LONGEST_WORD_BEFORE_KEY = 30


def _is_sensitive_after_word(text, start, key):
    end = start - 1
    if end < 1 or text[end] not in " \t":
        return False
    begin = end
    while (
        begin > 0
        and end - begin < _LONGEST_WORD_BEFORE_KEY
        and text[begin - 1].isascii()
        and text[begin - 1].isalpha()
    ):
        begin -= 1
    return begin < end and is_sensitive_key(f"{text[begin:end]} {key}")


def _word_start(text, index):
    start = index
    while start > 0 and index - start < 60 and _is_key_char(text[start - 1]):
        start -= 1
    return start


def _is_key_char(char):
    return char.isalnum() or char in "_.-"


def _redact_url_password(match):
    scheme, rest = match.groups()
    at = rest.rfind("@")
    if at < 0:
        return match.group(0)
    user, colon, password = rest[:at].partition(":")
    # A user that runs into a path or a query was no user.
    if any(char in user for char in "/?#"):
        return match.group(0)
    if not colon and _looks_like_key(user):
        # A key alone in the user's place, as in a Sentry DSN or a token
        # cloned with: https://<key>@host/…
        return f"{scheme}{REDACTED}{rest[at:]}"
    if not colon or not password or password == REDACTED:
        return match.group(0)
    return f"{scheme}{user}:{REDACTED}{rest[at:]}"


def _looks_like_key(user):
    # A user name is a word or words; a key is a long run of letters and
    # digits mixed.
    return (
        len(user) >= 24
        and user.isascii()
        and user.isalnum()
        and not user.isalpha()
        and not user.isdigit()
    )


# English words seldom run past this length; a token of letters alone
# does, so length alone marks it.
_LONGEST_WORD_AFTER_SCHEME = 15


def _redact_auth_scheme(match):
    # "Basic authentication failed" names a scheme; "Basic dXNlcjpwdw==" is a
    # credential: credentials carry digits, mixed case or punctuation, or
    # are longer than a word.
    value = match.group(3)
    looks_random = (
        len(value) > _LONGEST_WORD_AFTER_SCHEME
        or any(char.isdigit() for char in value)
        or (value.lower() != value and value.upper() != value)
        or any(char in "-._~+/=" for char in value)
    )
    if not looks_random:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


# A key and its separator in text. The value is looked for only once the key
# proved sensitive, so that a text of many harmless keys costs one short
# match each.
_KEY = re.compile(r"([\w.-]{1,120})(\\?[\"']?[ \t]{0,16}[:=][ \t]{0,16})")

# A command-line option and the blank before its value: `--password x`.
_FLAG = re.compile(r"(--?[\w.-]{1,120})([ \t]+)(?=[^\s-])")

# A value after a sensitive key: quoted (also as escaped JSON inside a
# string), or up to a delimiter. A quote left open, as in a message cut
# short, hides the rest of its line. Possessive repeats keep each scan to
# one pass over the value.
_VALUE = re.compile(
    r"(?!\[redacted\])"
    r"(?:(\\\")(?:(?!\\\")[^\r\n])++(?:\\\")?"
    r"|(\\')(?:(?!\\')[^\r\n])++(?:\\')?"
    r"|(b?\")(?:[^\"\\\r\n]|\\.)++\"?"
    r"|(b?')(?:[^'\\\r\n]|\\.)++'?"
    r"|[^\s\"',;&}\])<>]+)"
)

# A pair in a tuple or list, as Python prints headers (ASGI's and httpx's are
# bytes): `(b'authorization', b'Bearer …')`. Only a quoted value counts, and
# only when a bracket and a quote open the key.
_TUPLE_OPEN = re.compile(r"[(\[][ \t]?b?\\?[\"']$")
_TUPLE_KEY = re.compile(r"([\w.-]{1,120})(\\?[\"'],[ \t]{0,16})")


# An XML element named by a key, `<password>…</password>`: its text to the
# next tag, or to the end of the line when the tag is never closed.
_ELEMENT = re.compile(r"([\w.-]{1,120})(>)")
_ELEMENT_TEXT = re.compile(r"(?!\[redacted\])[^<\r\n]++")


# A connection string's parts are joined by semicolons, which end any other
# unquoted value: `AccountName=a;Key=…` is one value to its first blank.
_CONNECTION_VALUE = re.compile(r"[^\s\"'<>]++")
_CONNECTION_WORDS = frozenset({("connection", "string"), ("conn", "str")})


def _names_connection_string(key):
    words = key_words(key)
    pairs = zip(words, words[1:], strict=False)
    return any(pair in _CONNECTION_WORDS for pair in pairs)


def _assignment_replacement(key, value):
    # A bytes value keeps its b prefix before the quote, not after.
    quote = next((mark for mark in value.groups() if mark), "")
    return f"{key.group(0)}{quote}{REDACTED}{quote.removeprefix('b')}"


def _redact_jwt(match):
    header = _JWT_HEADER.search(match.group(1))
    if header is None:
        return match.group(0)
    return f"{match.group(0)[: header.start()]}{REDACTED}"


def _redact_card(match):
    start = match.start()
    if start and match.string[start - 1] in "0123456789.-":
        return match.group(0)
    digits = match.group(0).replace(" ", "").replace("-", "")
    if 13 <= len(digits) <= 19 and _luhn_valid(digits):
        return REDACTED
    return match.group(0)


def _luhn_valid(digits):
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def redact_data(value):
    """Return a JSON value with sensitive keys' values and secrets in strings
    replaced, keeping its structure; walked without recursion."""
    if not isinstance(value, dict | list):
        return _redacted_leaf(value, hidden=False)

    root = _empty_like(value)
    pending = [(value, root, False)]
    while pending:
        source, target, hidden = pending.pop()
        if isinstance(source, dict):
            value_key, pair_name = _pair_keys(source)
            for key, item in source.items():
                item_hidden = hidden or is_sensitive_key(key)
                if key == value_key and pair_name is not None:
                    item_hidden = item_hidden or is_sensitive_key(pair_name)
                target[redact_text(key)] = _walked(item, item_hidden, pending)
        else:
            pair = _is_sensitive_pair(source)
            after_flag = after_user = False
            for index, item in enumerate(source):
                item_hidden = hidden or (pair and index == 1) or after_flag
                if after_user and isinstance(item, str) and ":" in item:
                    item_hidden = item_hidden or not _is_uid_and_gid(item)
                target.append(_walked(item, item_hidden, pending))
                after_flag = _is_sensitive_flag(item)
                after_user = isinstance(item, str) and item in _USER_OPTIONS
    return root


def _walked(item, hidden, pending):
    if isinstance(item, dict | list):
        copy = _empty_like(item)
        pending.append((item, copy, hidden))
        return copy
    return _redacted_leaf(item, hidden=hidden)


def _redacted_leaf(item, *, hidden):
    # Absence and flags say nothing secret and help debugging, so they stay.
    if item is None or isinstance(item, bool) or item == "":
        return item
    if hidden:
        return REDACTED
    if isinstance(item, str):
        return redact_text(item)
    if isinstance(item, int) and _is_card_number(item):
        return REDACTED
    # A client that keeps numbers as doubles sends 4111111111111111.0 or
    # 4.111111111111111e15 for the same card.
    if isinstance(item, float) and item.is_integer() and _is_card_number(int(item)):
        return REDACTED
    return item


def _is_card_number(number):
    digits = str(number)
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and _luhn_valid(digits)


def _empty_like(value):
    return {} if isinstance(value, dict) else []


# Header pairs as clients dump them: {"name": "Cookie", "value": "…"} and
# the like, also capitalised as AWS and .NET write them ({"Key": …,
# "Value": …}), or ["Authorization", "Bearer …"].
_PAIR_NAME_KEYS = ("name", "key", "header", "field")
_PAIR_KEYS = frozenset({*_PAIR_NAME_KEYS, "value"})


def _pair_keys(item):
    found = {}
    for key in item:
        if isinstance(key, str) and len(key) <= 6 and key.lower() in _PAIR_KEYS:
            found.setdefault(key.lower(), key)
    value_key = found.get("value")
    if value_key is None:
        return None, None
    for name_key in _PAIR_NAME_KEYS:
        name = item.get(found.get(name_key))
        if isinstance(name, str):
            return value_key, name
    return value_key, None


def _is_sensitive_flag(item):
    # An argument vector: ["psql", "--password", "…"].
    return (
        isinstance(item, str)
        and item.startswith("-")
        and "=" not in item
        and is_sensitive_key(item)
    )


# Options whose value is user:password, as curl's: ["curl", "-u", "a:pw"].
_USER_OPTIONS = frozenset({"-u", "--user"})


def _is_sensitive_pair(items):
    return len(items) == 2 and isinstance(items[0], str) and is_sensitive_key(items[0])


_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def escape_controls(text):
    """Return text with control characters, line breaks included, written as
    escapes, so that hostile text cannot forge or split a log line."""
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


WITHHELD = "[log line withheld: it could not be redacted]"


class RedactingFilter(logging.Filter):
    """Redact secrets from a log record before any handler writes it."""

    def filter(self, record):
        try:
            record.msg = redact_text(record.getMessage())
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = "".join(
                    traceback.format_exception(*record.exc_info)
                ).rstrip("\n")
            if record.exc_text:
                record.exc_text = redact_text(record.exc_text)
            if record.stack_info:
                record.stack_info = redact_text(record.stack_info)
        except Exception:  # noqa: BLE001 - a log line must never fail the caller
            # What could not be redacted is not written at all.
            record.msg, record.args = WITHHELD, None
            record.exc_info = record.exc_text = record.stack_info = None
        return True


class SingleLineFormatter(logging.Formatter):
    """Write each record's message on one line, control characters escaped.

    Escaping here rather than in the filter leaves the record itself alone:
    the journal's own handler reads the same record and keeps its lines.
    """

    def formatMessage(self, record):
        record.message = escape_controls(record.message)
        return super().formatMessage(record)
