"""The case page's forms, drawn in Python where Django's widget templates cost the most.

The case page carries up to eight small forms, each with two hidden fields (the revision the
user saw, the last event they saw). Drawn through Django's widget templates each hidden input
cost ~0.2 ms; here it is a string. The markup is the one Django's ``HiddenInput`` writes
(tests/cases/test_case_page.py compares the two).
"""

from __future__ import annotations

from django import forms, template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


def _attrs(attrs: dict) -> str:
    """Django's ``attrs.html``: in the given order, True as a bare name, False left out (flatatt sorts them)."""
    return mark_safe(  # every name and value escaped here
        "".join(
            f" {escape(name)}" if value is True else f' {escape(name)}="{escape(str(value))}"'
            for name, value in attrs.items()
            if value is not False
        )
    )


@register.simple_tag
def hidden_inputs(form) -> str:
    """``{% for hidden in form.hidden_fields %}{{ hidden }}{% endfor %}``, written directly."""
    inputs = []
    for field in form.hidden_fields():
        attrs = dict(field.field.widget.attrs)
        if field.auto_id and "id" not in attrs:
            attrs["id"] = field.auto_id
        value = field.field.widget.format_value(field.value())
        inputs.append(
            format_html(
                '<input type="hidden" name="{}"{}{}>',
                field.html_name,
                format_html(' value="{}"', value) if value is not None else "",
                _attrs(field.build_widget_attrs(attrs)),
            )
        )
    return mark_safe("".join(inputs))  # every part escaped by format_html / _attrs


# Django's select_option.html, included with its closing newline.
OPTION = '\n  <option value="{}"{}>{}</option>\n'


def _select(widget: dict) -> str | None:
    """The markup of Django's ``select.html`` for a context of ``Select.get_context``; None with option groups."""
    options = []
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            return None
        options.extend(
            format_html(OPTION, str(option["value"]), _attrs(option["attrs"]), option["label"])
            for option in group_choices
        )
    opening = format_html('<select name="{}"{}>', widget["name"], _attrs(widget["attrs"]))
    return opening + "".join(options) + "\n</select>"


@register.simple_tag
def field_widget(field) -> str:
    """``{{ field }}``: a plain menu (``forms.Select``) written directly, any other widget as Django draws it.

    Django draws each <option> through a template (~0.15 ms each); the case page's assign and
    category menus hold a dozen or more. The attributes and value come from Django's own
    ``BoundField`` and ``Select.get_context``, so only the drawing is done here.
    """
    widget = field.field.widget
    if type(widget) is not forms.Select:
        return field.as_widget()
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    markup = _select(widget.get_context(field.html_name, field.value(), attrs)["widget"])
    return mark_safe(markup) if markup is not None else field.as_widget()  # escaped by format_html
