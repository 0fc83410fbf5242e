"""Links from an error's context fields to other tools or the dashboard."""

from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.urls import reverse

from .models import CONTEXT_FIELDS

SAFE_SCHEMES = frozenset({"http", "https", ""})


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
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    if parts.scheme.lower() not in SAFE_SCHEMES:
        return False
    return not (not parts.scheme and parts.netloc)


def _dashboard_filtered(field, value):
    # Every error with that value, viewed ones included: a run's history.
    query = urlencode({field: value, "status": "all"})
    return reverse("runtime_errors:dashboard") + "?" + query
