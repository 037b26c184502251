"""``{% url %}`` remembers the addresses of pages named without arguments (cases.templatetags.cached_urls)."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, engines
from django.urls import set_script_prefix

TEMPLATES = [
    "{% url 'staff:home' %}",
    "{% url 'staff:case' 'JPD-2026-00001-A' %}",
    "{% url 'admin:index' as here %}[{{ here }}]",
    "{% url name %}",
    "{% url 'no:such:page' as missing %}[{{ missing }}]",
]


@pytest.mark.parametrize("source", TEMPLATES)
def test_every_url_tag_writes_what_djangos_own_writes(source):
    ours = engines["django"].from_string(source)
    djangos = Engine(libraries={}, builtins=[]).from_string(source)  # Django's default tags alone
    context = {"name": "staff:actions"}
    assert ours.render(context) == djangos.render(Context(context))
    assert type(ours.template.nodelist[0]).__name__ == "RememberedURLNode"


def test_a_remembered_address_follows_the_script_prefix():
    template = engines["django"].from_string("{% url 'staff:home' %}")
    assert template.render({}) == "/staff/"
    try:
        set_script_prefix("/complaints/")
        assert template.render({}) == "/complaints/staff/"
    finally:
        set_script_prefix("/")
    assert template.render({}) == "/staff/"
