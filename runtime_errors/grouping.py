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
            r"(?<![\w.-])(?:/tmp|/var/tmp|/private/var/folders)(?=/)[^\s'\"`]*"
            r"|\b[A-Z]:\\(?:Windows\\Temp|Users\\[^\\\s]+\\AppData\\Local\\Temp)"
            r"[^\s'\"`]*",
            re.I,
        ),
        "<tmp>",
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
# JavaScript, Java and the like: `at module.function (file:line:col)`
# (Blanks, not `\s`: a `\s*` at every line start would run across all the
# empty lines that follow it.)
_AT_FRAME = re.compile(r"^[ \t]*at[ \t]+([\w$.<>]+)", re.M)
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
    return _AT_FRAME.findall(stack or "")[:count]


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
