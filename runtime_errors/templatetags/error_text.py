"""Filters for showing service text on staff pages."""

from django import template

from ..text import visible_controls as _visible_controls

register = template.Library()


@register.filter(is_safe=True)
def visible_controls(text):
    """Show each bidirectional control character as a visible ⟨U+XXXX⟩ mark."""
    return _visible_controls(str(text))
