"""The alert stack, included at the bottom of every staff page."""

from django import template
from django.conf import settings

register = template.Library()


@register.inclusion_tag("runtime_errors/alert_stack.html", takes_context=True)
def alert_stack(context):
    """Render the stack's container; its script fills it from the socket."""
    return {
        "csrf_token": context.get("csrf_token"),
        "alert_stack_polling": getattr(settings, "RUNTIME_ERRORS_ALERT_POLLING", True),
    }
