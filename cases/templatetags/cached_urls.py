"""``{% url %}`` that remembers the addresses of named pages without arguments (a template builtin).

Every staff page names about ten such pages (the navigation, the forms' actions), and
Django's ``{% url %}`` works each out again on every request: 28 microseconds a time, a
quarter of a millisecond a page. Such an address depends only on the name, the URLconf,
the script prefix and the current application, so it is kept per those four; a tag with
arguments, a name held in a variable, or a name that does not reverse is Django's own.

Registered in TEMPLATES' ``builtins`` (settings/base.py): loaded after Django's own
tags, it takes the name ``url`` for every template.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.conf import settings
from django.template import defaulttags
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=512)
def _address(name: str, urlconf, root_urlconf: str, script_prefix: str, current_app: str | None) -> str:
    # ``urlconf``, ``root_urlconf`` and ``script_prefix`` are part of the key only: reverse() reads them itself.
    return reverse(name, current_app=current_app)


class RememberedURLNode(defaulttags.URLNode):
    def render(self, context):
        name = self.view_name.var
        if self.args or self.kwargs or self.asvar or self.view_name.filters or not isinstance(name, str):
            return super().render(context)
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        url = _address(str(name), get_urlconf(), settings.ROOT_URLCONF, get_script_prefix(), current_app)
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = defaulttags.url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
