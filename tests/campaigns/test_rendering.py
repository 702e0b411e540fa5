"""Campaign content rendered for a contact, and the size of an SMS."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Campaign
from campaigns.rendering import campaign_render, sms_segments, template_check
from tests.factories import ContactFactory, LeadSourceFactory


def render(contact, **content):
    return campaign_render(campaign=Campaign(**content), contact=contact)


@pytest.mark.django_db
def test_contact_fields_are_filled_in_when_the_content_names_them():
    contact = ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        loyalty_points=1200,
        loyalty_points_expire_on=date(2030, 1, 31),
        score=7,
        lead_source=LeadSourceFactory(name="Fair"),
        attributes={"tier": "gold"},
    )

    rendered = render(
        contact,
        subject="{{ first_name }}, {{ loyalty_points }} points",
        preheader="until {{ loyalty_points_expire_on|date:'Y-m-d' }}",
        text_body="{{ full_name }} <{{ email }}> {{ score }} {{ lead_source }} "
        "{{ attributes.tier }}",
        sms_text="Hi {{ first_name }}",
    )

    assert rendered.subject == "Ann, 1200 points"
    assert rendered.preheader == "until 2030-01-31"
    assert rendered.text == "Ann Lee <ann@example.com> 7 Fair gold"
    assert rendered.sms == "Hi Ann"


def test_missing_values_render_as_empty_text_when_a_field_is_empty_or_unknown():
    contact = ContactFactory.build(
        first_name="", loyalty_points_expire_on=None, attributes={"tier": None}
    )

    rendered = render(
        contact,
        text_body="[{{ first_name }}|{{ loyalty_points_expire_on }}|{{ lead_source }}"
        "|{{ attributes.tier }}|{{ attributes.missing }}|{{ nothing.at.all }}]",
    )

    assert rendered.text == "[|||||]"


def test_html_body_escapes_contact_values_when_text_and_sms_do_not():
    contact = ContactFactory.build(first_name="<b>")

    rendered = render(
        contact,
        html_body="<p>{{ first_name }}</p>",
        text_body="{{ first_name }}",
        sms_text="{{ first_name }}",
        subject="{{ first_name }}",
    )

    assert rendered.html == "<p>&lt;b&gt;</p>"
    assert rendered.text == rendered.sms == rendered.subject == "<b>"


def test_rendered_parts_are_plain_strings_when_returned():
    rendered = render(ContactFactory.build(), text_body="<i>x</i>")

    # Not "safe" strings: whatever displays them escapes them.
    assert not hasattr(rendered.text, "__html__")


@pytest.mark.parametrize(
    "source",
    [
        "{% load static %}",
        '{% include "admin/base.html" %}',
        '{% extends "admin/base.html" %}',
        "{% debug %}",
        '{% url "admin:index" %}',
        "{% if %}",
        "{{ first_name|no_such_filter }}",
        "{{ first_name.__class__ }}",
    ],
)
def test_template_is_refused_when_it_reaches_outside_the_context_or_is_invalid(source):
    with pytest.raises(ValidationError) as error:
        template_check(source, html=True)

    assert "Template error" in error.value.messages[0]


def test_render_reports_the_field_when_a_template_is_invalid():
    with pytest.raises(ValidationError) as error:
        render(ContactFactory.build(), subject="ok", html_body="{% for %}")

    assert set(error.value.message_dict) == {"html_body"}


def test_template_sees_no_model_when_it_tries_to_walk_out_of_the_context():
    contact = ContactFactory.build(first_name="Ann")

    rendered = render(
        contact, text_body="[{{ contact }}{{ request.user }}{{ settings.SECRET_KEY }}]"
    )

    assert rendered.text == "[]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (0, 0, "GSM-7")),
        ("a" * 160, (160, 1, "GSM-7")),
        ("a" * 161, (161, 2, "GSM-7")),
        ("a" * 306, (306, 2, "GSM-7")),
        ("a" * 307, (307, 3, "GSM-7")),
        ("é" * 160, (160, 1, "GSM-7")),
        ("€" + "a" * 158, (160, 1, "GSM-7")),
        ("€" + "a" * 159, (161, 2, "GSM-7")),
        ("ç" * 70, (70, 1, "UCS-2")),
        ("ç" * 71, (71, 2, "UCS-2")),
        ("ç" * 134, (134, 2, "UCS-2")),
        ("ç" * 135, (135, 3, "UCS-2")),
        ("😀" * 35, (70, 1, "UCS-2")),
    ],
)
def test_sms_size_is_counted_per_encoding_when_measured(text, expected):
    assert tuple(sms_segments(text)) == expected


def test_extension_character_is_never_split_when_it_falls_on_a_part_boundary():
    # 152 septets, then "€" (2): it does not fit in the first part's 153.
    assert tuple(sms_segments("a" * 152 + "€" + "a" * 10)) == (164, 2, "GSM-7")
    assert tuple(sms_segments("a" * 152 + "€" + "a" * 152)) == (306, 3, "GSM-7")
