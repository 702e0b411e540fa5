"""Signed message links and the rewriting of a message's content for tracking."""

import re

import pytest
from django.conf import settings
from django.core.signing import Signer

from campaigns.models import Message
from campaigns.tracking import (
    CLICK_SALT,
    OPEN_SALT,
    _fast_sign,
    click_token_resolve,
    click_url,
    message_content_track,
    open_token_resolve,
    open_url,
    unsubscribe_mailto,
    unsubscribe_token_resolve,
    unsubscribe_url,
)

TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
PUBLIC = settings.RELANCE_PUBLIC_URL
CLICK_LINK = re.compile(re.escape(PUBLIC) + r"/t/c/([A-Za-z0-9_.-]+)/")
URL_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


@pytest.fixture
def message() -> Message:
    return Message(pk=7, token=TOKEN)


def clicked(link: str) -> tuple[str, str] | None:
    """(token, url) a click link leads to."""
    match = CLICK_LINK.fullmatch(link)
    assert match, link
    return click_token_resolve(match.group(1))


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_links_are_absolute_and_their_tokens_url_safe(message):
    links = [
        open_url(message),
        click_url(message, "https://x.fr/?a=1&b=é"),
        unsubscribe_url(message),
    ]
    for url in links:
        assert url.startswith(PUBLIC + "/")
        token = url.rstrip("/").rsplit("/", 1)[1].removesuffix(".gif")
        assert URL_SAFE.fullmatch(token), url


def test_each_link_resolves_to_its_message_and_only_for_its_purpose(message):
    open_token = open_url(message).removeprefix(PUBLIC + "/t/o/").removesuffix(".gif")
    unsubscribe_token = unsubscribe_url(message).removeprefix(PUBLIC + "/u/").rstrip("/")

    assert open_token_resolve(open_token) == TOKEN
    assert unsubscribe_token_resolve(unsubscribe_token) == TOKEN
    assert unsubscribe_token_resolve(open_token) is None
    assert open_token_resolve(unsubscribe_token) is None
    assert clicked(click_url(message, "https://shop.example.com/a?b=c")) == (
        TOKEN,
        "https://shop.example.com/a?b=c",
    )


def test_unsubscribe_mailto_carries_the_signed_token_in_a_valid_local_part(message, settings):
    settings.RELANCE_UNSUBSCRIBE_MAILTO_DOMAIN = "bounce.example.com"

    mailto = unsubscribe_mailto(message)

    match = re.fullmatch(r"mailto:unsubscribe\+([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)@(.+)", mailto)
    assert match, mailto
    assert match.group(2) == "bounce.example.com"
    assert unsubscribe_token_resolve(match.group(1)) == TOKEN


def test_link_signatures_are_those_of_djangos_signer():
    for salt in (OPEN_SALT, CLICK_SALT):
        for value in ("abc", f"{TOKEN}.aHR0cHM6Ly94LmZy", "é"):
            assert _fast_sign(salt)(value) == Signer(salt=salt, sep=".").sign(value)


def test_html_links_are_rewritten_to_click_links_for_their_exact_url(message):
    html = (
        '<p><a href="https://shop.example.com/p?id=1&amp;utm=news">one</a>'
        "<a class='btn' href='http://example.org/two'>two</a>"
        "<A HREF=https://example.net/three>three</A></p>"
    )

    tracked, _ = message_content_track(message=message, html=html, text="")

    links = re.findall(r"""href=["']?([^"'\s>]+)""", tracked, flags=re.IGNORECASE)
    assert [clicked(link)[1] for link in links] == [
        "https://shop.example.com/p?id=1&utm=news",
        "http://example.org/two",
        "https://example.net/three",
    ]
    assert "&amp;" not in tracked.split("<img")[0]
    assert ">one</a>" in tracked and "class='btn'" in tracked


def test_href_is_found_after_other_attributes_and_not_inside_them(message):
    html = (
        '<a title="see href=https://decoy.example.com" data-x=1 '
        'href="https://real.example.com">x</a>'
    )

    tracked, _ = message_content_track(message=message, html=html, text="")

    assert 'title="see href=https://decoy.example.com"' in tracked
    assert [clicked(link)[1] for link in hrefs(tracked)] == ["https://real.example.com"]


def test_mailto_tel_anchors_and_our_own_links_are_left_alone(message):
    own = unsubscribe_url(message)
    html = (
        '<a href="mailto:hello@example.com">m</a><a href="tel:+33100000000">t</a>'
        f'<a href="#top">a</a><a href="{own}">unsubscribe</a><a href="/relative">r</a>'
    )
    text = f"Write to mailto:hello@example.com or leave: {own}"

    tracked_html, tracked_text = message_content_track(message=message, html=html, text=text)

    assert hrefs(tracked_html) == [
        "mailto:hello@example.com",
        "tel:+33100000000",
        "#top",
        own,
        "/relative",
    ]
    assert tracked_text == text


def test_text_urls_are_rewritten_and_the_sentence_punctuation_kept(message):
    text = (
        "Shop: https://shop.example.com/sale?a=1&b=2.\n"
        "(details at https://example.org/faq)\n"
        "wiki https://en.wikipedia.org/wiki/Foo_(bar), done"
    )

    _, tracked = message_content_track(message=message, html="", text=text)

    links = CLICK_LINK.findall(tracked)
    assert [click_token_resolve(token)[1] for token in links] == [
        "https://shop.example.com/sale?a=1&b=2",
        "https://example.org/faq",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
    ]
    assert tracked.startswith("Shop: " + PUBLIC)
    assert "/.\n(details at " in tracked
    assert "/)\nwiki " in tracked
    assert tracked.endswith("/, done")


def test_same_url_in_html_and_text_gets_the_same_click_link(message):
    html, text = message_content_track(
        message=message,
        html='<a href="https://x.example.com/?a=1&amp;b=2">x</a>',
        text="https://x.example.com/?a=1&b=2",
    )
    assert hrefs(html)[0] == text


def test_open_pixel_goes_before_the_closing_body_tag(message):
    html, _ = message_content_track(
        message=message, html="<html><body><p>Hi</p></BODY></html>", text=""
    )

    pixel = f'<img src="{open_url(message)}" width="1" height="1" alt="">'
    assert html == f"<html><body><p>Hi</p>{pixel}</BODY></html>"


def test_open_pixel_goes_at_the_end_of_a_fragment_and_not_into_a_text_only_message(message):
    html, text = message_content_track(message=message, html="<p>Hi</p>", text="Hi")
    assert html.startswith("<p>Hi</p><img ") and html.endswith('width="1" height="1" alt="">')

    html, text = message_content_track(message=message, html="", text="Hi")
    assert (html, text) == ("", "Hi")
