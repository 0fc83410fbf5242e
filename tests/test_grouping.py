"""Repeats of one error group into one alert; different errors do not."""

import json
import re
from pathlib import Path

import pytest

from runtime_errors.reports import parse_reports

from .conftest import post_json, report

README = Path(__file__).resolve().parent.parent / "README.md"
BASE = {"level": "error", "source": "scheduler", "message": "job failed"}
_ROW = re.compile(r"^\| `(\{.*\})` \| `(\{.*\})` \| (yes|no) \|$")


def readme_examples():
    """Return (first, second, grouped) for each row of the README's table."""
    section = README.read_text().split("\n## Grouping\n", 1)[1].split("\n## ", 1)[0]
    rows = [_ROW.match(line) for line in section.splitlines()]
    return [
        pytest.param(
            json.loads(row[1]), json.loads(row[2]), row[3] == "yes", id=f"row{index}"
        )
        for index, row in enumerate(filter(None, rows), start=1)
    ]


def fingerprint_of(fields):
    return parse_reports({**BASE, **fields})[0].fingerprint


def test_readme_holds_grouping_examples_of_both_kinds():
    examples = readme_examples()

    assert len(examples) >= 15
    assert {example.values[2] for example in examples} == {True, False}


@pytest.mark.parametrize(("first", "second", "grouped"), readme_examples())
def test_readme_example_groups_as_documented(first, second, grouped):
    assert (fingerprint_of(first) == fingerprint_of(second)) is grouped


@pytest.mark.django_db
def test_hex_addresses_and_hashes_group_while_other_words_split(ingest_client):
    bodies = [
        report(
            source="scheduler", message="<Worker object at 0x7f3a2c1d9e80> timed out"
        ),
        report(
            source="scheduler", message="<Worker object at 0x7f3a2c1e0b10> timed out"
        ),
        report(source="cache", message="cache key 9f86d081884c7d65 missing"),
        report(source="cache", message="cache key 2c26b46b68ffc68f missing"),
        report(source="scheduler", message="<Worker object at 0x7f3a2c1d9e80> refused"),
    ]

    answers = [post_json(ingest_client, body).json() for body in bodies]

    assert [answer["created"] for answer in answers] == [True, False, True, False, True]
    assert answers[1] == {**answers[0], "occurrences": 2, "created": False}
    assert answers[3] == {**answers[2], "occurrences": 2, "created": False}
    assert len({answer["id"] for answer in answers}) == 3
