"""Grouping: the fingerprint that decides which reports are one error.

A fingerprint is a SHA-256 over the parts that stay the same when an error
repeats: the source, the level, the exception type, the message with its
volatile parts masked, and the innermost stack frames by module and function.
Line numbers are left out so that a deploy that moves code does not split a
group. A client may send its own fingerprint instead; a list that contains
``{{ default }}`` extends the computed one.
"""

import hashlib
import re

DEFAULT_TOKEN = "{{ default }}"
FRAME_COUNT = 5

# Order matters: wider shapes go first so that their digits are not masked
# piecemeal by the integer rule.
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
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"), "<ip>"),
    (
        re.compile(r"\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b", re.I),
        "<ip>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (
        re.compile(r"(?:/tmp|/var/tmp|/private/var/folders|[A-Z]:\\Temp)[^\s'\"]*"),
        "<tmp>",
    ),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<hex>"),
    (re.compile(r"\b[0-9a-f]{16,}\b", re.I), "<hex>"),
    (re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w])"), "<n>"),
    (re.compile(r"(?<=[a-z_])\d+\b", re.I), "<n>"),
]

# Python: `  File "app/jobs.py", line 40, in run`
_PYTHON_FRAME = re.compile(r'File "([^"]+)", line \d+, in (\S+)')
# JavaScript, Java and the like: `at module.function (file:line:col)`
_AT_FRAME = re.compile(r"^\s*at\s+([\w$.<>]+)", re.M)
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
        f"{_module_of(path)}:{function}"
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
            if part == DEFAULT_TOKEN:
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
