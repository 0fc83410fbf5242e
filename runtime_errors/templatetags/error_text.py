"""Filters for showing service text on staff pages."""

import re

from django import template

register = template.Library()

# Embeddings, overrides, isolates and the directional marks: invisible
# characters that reorder the text around them, so that "user \u202eNIMDA"
# reads as "user ADMIN".
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match):
    return f"⟨U+{ord(match.group()):04X}⟩"


@register.filter(is_safe=True)
def visible_controls(text):
    """Show each bidirectional control character as a visible ⟨U+XXXX⟩ mark."""
    return BIDI_CONTROLS.sub(_visible, str(text))
