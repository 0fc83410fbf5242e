"""Context links lead to http(s) or the dashboard, and bad templates stop start-up."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from .conftest import STAFF_URL, post_json, report

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "template",
    [
        "/\\evil.example/{namespace}",
        "\\\\evil.example/{namespace}",
        "java\tscript:alert('{namespace}')",
        " javascript:alert('{namespace}')",
        "//evil.example/{namespace}",
    ],
)
def test_a_template_a_browser_would_rewrite_off_site_is_never_linked(
    ingest_client, staff_client, settings, template
):
    settings.RUNTIME_ERRORS_LINKS = {
        "namespace": template,
        "run_id": "https://ci.example/runs/{run_id}",
    }
    post_json(ingest_client, report(namespace="prod", run_id="r 1"))

    links = staff_client.get(STAFF_URL).json()["results"][0]["links"]

    assert links == {
        "namespace": "/staff/?namespace=prod&status=all",
        "run_id": "https://ci.example/runs/r%201",
    }


@pytest.mark.parametrize(
    ("links", "named"),
    [
        ({"run_id": "https://ci.example/{nope}"}, "placeholder {run_id}"),
        ({"run": "https://ci.example/{run}"}, "'run' is not one of"),
        ({"run_id": "javascript:alert('{run_id}')"}, "http(s) or relative"),
        ({"run_id": ["https://ci.example/{run_id}"]}, "http(s) or relative"),
        (["https://ci.example/{run_id}"], "JSON object"),
    ],
)
def test_a_link_template_that_could_never_be_produced_stops_the_checks(
    settings, links, named
):
    settings.RUNTIME_ERRORS_LINKS = {"run_id": "https://ci.example/runs/{run_id}"}
    call_command("check")
    settings.RUNTIME_ERRORS_LINKS = links

    with pytest.raises(SystemCheckError, match="runtime_errors.E002") as refused:
        call_command("check")

    assert named in str(refused.value)
