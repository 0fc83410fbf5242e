"""Links from an error's context fields to other tools or the dashboard."""

import re
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.core.checks import Error, register
from django.urls import reverse

from .models import CONTEXT_FIELDS

SAFE_SCHEMES = frozenset({"http", "https", ""})
_BROWSER_REWRITTEN = re.compile(r"[\x00-\x20\x7f\\]")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def context_links(error):
    """Return {field: url} for each context field the error has."""
    templates = getattr(settings, "RUNTIME_ERRORS_LINKS", {}) or {}
    links = {}
    for field in CONTEXT_FIELDS:
        value = getattr(error, field)
        if not value:
            continue
        url = _from_template(templates.get(field), field, value)
        links[field] = url or _dashboard_filtered(field, value)
    return links


def _from_template(template, field, value):
    if not isinstance(template, str):
        return None
    url = template.replace("{" + field + "}", quote(value, safe=""))
    if not is_safe_url(url):
        return None
    return url


def is_safe_url(url):
    """Tell whether a URL is http, https or relative, and nothing else."""
    # Browsers drop tabs and newlines anywhere in a URL and read a backslash
    # as a slash: "java\tscript:" and "/\\evil.example" would slip past the
    # checks below.
    if _BROWSER_REWRITTEN.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() not in SAFE_SCHEMES:
        return False
    return not (not parts.scheme and parts.netloc)


def _dashboard_filtered(field, value):
    # Every error with that value, viewed ones included: a run's history.
    query = urlencode({field: value, "status": "all"})
    return reverse("runtime_errors:dashboard") + "?" + query


@register()
def check_link_templates(app_configs, **kwargs):
    """Refuse to start with a link template that could never be produced."""
    templates = getattr(settings, "RUNTIME_ERRORS_LINKS", {}) or {}
    if not isinstance(templates, dict):
        return [_link_error("must be a JSON object of field: URL template.")]
    errors = []
    for field, template in templates.items():
        if field not in CONTEXT_FIELDS:
            errors.append(
                _link_error(f"{field!r} is not one of {', '.join(CONTEXT_FIELDS)}.")
            )
        elif not isinstance(template, str) or not is_safe_url(template):
            errors.append(_link_error(f"{field!r} is not an http(s) or relative URL."))
        elif set(_PLACEHOLDER.findall(template)) - {field}:
            errors.append(
                _link_error(f"{field!r} may hold only the placeholder {{{field}}}.")
            )
    return errors


def _link_error(problem):
    return Error(f"RUNTIME_ERRORS_LINKS: {problem}", id="runtime_errors.E002")
