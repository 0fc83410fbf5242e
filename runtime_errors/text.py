"""Make service text safe to store and show: no NUL bytes, no lone surrogates."""

import re

REPLACEMENT = "\ufffd"

# PostgreSQL refuses NUL in text and jsonb, and a lone surrogate cannot be
# encoded as UTF-8 at all; both would fail late, after validation.
_UNSAFE = re.compile("[\x00\ud800-\udfff]")

# Embeddings, overrides, isolates and the directional marks: invisible
# characters that reorder the text around them, so that "user \u202eNIMDA"
# reads as "user ADMIN".
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text):
    """Return text with NUL bytes and lone surrogates replaced by U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, text)


def visible_controls(text):
    """Return text with each bidirectional control shown as a ⟨U+XXXX⟩ mark,
    for display; what is stored keeps them."""
    return BIDI_CONTROLS.sub(_visible_mark, text)


def _visible_mark(match):
    return f"⟨U+{ord(match.group()):04X}⟩"


def clean_data(value):
    """Return a JSON value with every string and key cleaned, walked without
    recursion so that nesting depth cannot exhaust the stack."""
    if isinstance(value, str):
        return clean_text(value)
    if not isinstance(value, dict | list):
        return value

    root = _empty_like(value)
    pending = [(value, root)]
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        renamed = {}
        for key, item in items:
            if isinstance(item, dict | list):
                copy = _empty_like(item)
                pending.append((item, copy))
            elif isinstance(item, str):
                copy = clean_text(item)
            else:
                copy = item
            if isinstance(target, dict):
                target[_unused_key(target, clean_text(key), renamed)] = copy
            else:
                target.append(copy)
    return root


def _unused_key(mapping, key, renamed):
    # Keys that differ only in what cleaning replaced ("a\x00", "a\ud800")
    # would overwrite each other; later ones get a numbered name instead.
    # `renamed` remembers the last number per key, so that a flood of such
    # keys costs linear time.
    if key not in mapping:
        return key
    number = renamed.get(key, 1)
    while True:
        number += 1
        candidate = f"{key} ({number})"
        if candidate not in mapping:
            renamed[key] = number
            return candidate


def _empty_like(value):
    return {} if isinstance(value, dict) else []


def depth_of(value):
    """Return how deeply a JSON value nests containers, without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def utf8_length(text):
    """Return the size of text in UTF-8 bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def cut_utf8(text, limit, marker):
    """Return text cut to at most `limit` UTF-8 bytes, ending with marker."""
    if utf8_length(text) <= limit:
        return text
    room = limit - utf8_length(marker)
    head = text.encode("utf-8")[:room].decode("utf-8", "ignore")
    return head + marker


def cut_utf8_middle(text, limit, marker):
    """Return text cut to at most `limit` UTF-8 bytes, keeping its head and
    tail with marker between them."""
    if utf8_length(text) <= limit:
        return text
    encoded = text.encode("utf-8")
    room = limit - utf8_length(marker)
    head = encoded[: room // 2].decode("utf-8", "ignore")
    tail = encoded[len(encoded) - (room - room // 2) :].decode("utf-8", "ignore")
    return head + marker + tail
