"""Grouping: the fingerprint that decides which reports are one error.

A fingerprint is a SHA-256 over the parts that stay the same when an error
repeats: the source, the level, the exception type, the message with its
volatile parts masked, and the innermost stack frames by module and function.
Line numbers are left out so that a deploy that moves code does not split a
group. A client may send its own fingerprint instead; a list that contains
``{{ default }}`` extends the computed one.
"""

import hashlib
import ipaddress
import re

# `{{ default }}`, with or without the spaces.
DEFAULT_TOKEN = re.compile(r"\{\{\s*default\s*\}\}")
FRAME_COUNT = 5


def _mask_ip(match):
    # The shape alone would also take words such as `cafe:babe`.
    try:
        ipaddress.ip_address(match.group(0).split("%", 1)[0])
    except ValueError:
        return match.group(0)
    return "<ip>"


_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?"
    r"|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_WEEKDAY = r"(?:Mon|Tue(?:s)?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?"
# The alphabet Kubernetes draws pod and ReplicaSet suffixes from: no vowels,
# no 0, 1 or 3, so that the suffix never spells a word.
_POD_CHARS = "[bcdfghjklmnpqrstvwxz2456789]"

# Order matters: wider shapes go first so that their digits are not masked
# piecemeal by the number rule, which comes last.
_MASKS = [
    (
        re.compile(
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I
        ),
        "<uuid>",
    ),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
        "<timestamp>",
    ),
    # Dates with a month name: ctime and syslog (`Wed May  1 10:00:00 2024`),
    # HTTP and mail (`Mon, 01 Apr 2024 10:00:00 GMT`), and access logs
    # (`01/May/2024:10:00:00 +0000`).
    (
        re.compile(
            rf"\b(?:{_WEEKDAY} +)?{_MONTH} +\d{{1,2}}"
            r"(?:, *\d{4}| +\d{2}:\d{2}:\d{2}(?: +(?:[A-Z]{2,5}|[+-]\d{4}))?"
            r"(?: +\d{4})?)\b"
            rf"|\b(?:{_WEEKDAY},? +)?\d{{1,2}} +{_MONTH} +\d{{4}}"
            r"(?: +\d{2}:\d{2}(?::\d{2})?(?: *(?:[+-]\d{4}\b|[A-Z]{2,5}\b))?)?"
            rf"|\b\d{{1,2}}/{_MONTH}/\d{{4}}(?::\d{{2}}:\d{{2}}:\d{{2}})?"
            r"(?: [+-]\d{4}\b)?"
        ),
        "<timestamp>",
    ),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (
        re.compile(
            r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}"
            r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4})(?:%\w+)?(?![\w:])",
            re.I,
        ),
        _mask_ip,
    ),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), _mask_ip),
    (
        re.compile(
            r"(?<![\w.-])(?:/private)?(?:/tmp|/var/tmp|/var/folders)(?=/)[^\s'\"`]*"
            r"|\b[A-Z]:\\(?:Windows\\Temp|Users\\[^\\\s]+\\AppData\\Local\\Temp)"
            r"[^\s'\"`]*",
            re.I,
        ),
        "<tmp>",
    ),
    # A Deployment's pod: its name, then the ReplicaSet's hash and the pod's
    # own suffix, both of which change with every rollout and restart.
    (
        re.compile(rf"(?<=[a-z0-9])-{_POD_CHARS}{{6,10}}-{_POD_CHARS}{{5}}\b"),
        "-<pod>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<hex>"),
    # A quoted name with a digit in it is generated (a temporary table, a
    # job or session name); a quoted name without one ('email') names what
    # went wrong and stays.
    # The look-ahead finds the digit in one pass; a digit between two open
    # repeats would make an unclosed quote cost the square of its length.
    (re.compile(r"(['\"`])(?=[\w.:/-]*\d)[\w.:/-]*+\1"), r"\1<id>\1"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
]

# Python: `  File "app/jobs.py", line 40, in run`
_PYTHON_FRAME = re.compile(r'File "([^"]+)", line \d+, in (\S+)')
# JavaScript, Java and the like: `at module.function (file:line:col)`, with
# `async` and `new` read past (every such frame would otherwise be the same),
# or `at file:line:col` for code outside a function.
# (Blanks, not `\s`: a `\s*` at every line start would run across all the
# empty lines that follow it.)
_AT_FRAME = re.compile(r"^[ \t]*at[ \t]+(?:async[ \t]+)?(?:new[ \t]+)?([^\s(]+)", re.M)
_FUNCTION = re.compile(r"[\w$.<>]+")
# Firefox and Safari: `function@file:line:col`, the function empty when
# anonymous.
_AT_SIGN_FRAME = re.compile(r"^[ \t]*([\w$.<>/*]*)@(\S+):\d+:\d+[ \t]*$", re.M)
_LINE_COLUMN = re.compile(r"(?::\d+){1,2}$")
_URL_ORIGIN = re.compile(r"^[a-z][\w+.-]*://[^/]*", re.I)
_EXCEPTION_LINE = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault|Timeout"
    r"|Failure))\b(?::|$)",
    re.M,
)


def mask_message(message):
    """Return the message with volatile parts (numbers, ids, times) masked."""
    masked = message.strip()
    for pattern, replacement in _MASKS:
        masked = pattern.sub(replacement, masked)
    return masked


def exception_type(message, stack):
    """Return the exception type named by the stack's last line or the
    message, or an empty string."""
    for text in (stack, message):
        found = _EXCEPTION_LINE.findall(text or "")
        if found:
            return found[-1]
    return ""


def top_frames(stack, count=FRAME_COUNT):
    """Return the innermost frames as `module:function`, without lines."""
    frames = [
        f"{_module_of(mask_message(path))}:{function}"
        for path, function in _PYTHON_FRAME.findall(stack or "")
    ]
    if frames:
        return frames[-count:]
    frames = [_at_frame(token) for token in _AT_FRAME.findall(stack or "")]
    frames = [frame for frame in frames if frame]
    if frames:
        return frames[:count]
    return [
        f"{_location_module(location)}:{function}"
        for function, location in _AT_SIGN_FRAME.findall(stack or "")
    ][:count]


def _at_frame(token):
    if "/" in token or "\\" in token:
        return _location_module(token)
    function = _FUNCTION.match(token)
    return function.group(0) if function else ""


def _location_module(location):
    # A script's URL differs between hosts and its query between releases;
    # its path is what stays the same.
    path = _URL_ORIGIN.sub("", _LINE_COLUMN.sub("", location))
    path = path.split("?", 1)[0].split("#", 1)[0]
    return _module_of(mask_message(path))


def _module_of(path):
    # Site-packages and checkouts live in different places on different
    # hosts; the file's tail is what stays the same.
    parts = re.split(r"[\\/]", path)
    tail = [part for part in parts[-3:] if part]
    return ".".join(tail).removesuffix(".py")


def default_fingerprint(*, source, level, message, stack):
    """Return the computed fingerprint's parts for one report."""
    return [
        source,
        level,
        exception_type(message, stack),
        mask_message(message),
        *top_frames(stack),
    ]


def compute_fingerprint(*, source, level, message, stack, client=None):
    """Return the 64-hex-character grouping key for one redacted report."""
    if client is None:
        parts = default_fingerprint(
            source=source, level=level, message=message, stack=stack
        )
    else:
        custom = [client] if isinstance(client, str) else list(client)
        parts = ["custom"]
        for part in custom:
            if DEFAULT_TOKEN.fullmatch(part.strip()):
                parts.extend(
                    default_fingerprint(
                        source=source, level=level, message=message, stack=stack
                    )
                )
            else:
                parts.append(part)
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8")
        digest.update(len(encoded).to_bytes(4, "big"))
        digest.update(encoded)
    return digest.hexdigest()
