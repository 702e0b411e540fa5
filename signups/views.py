"""Public sign-up pages: the form, its CAPTCHA challenge, and the confirmation link's page."""

from contextlib import nullcontext

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from config.client_ip import client_ip
from signups.captcha import captcha_challenge_create
from signups.forms import HONEYPOT, SignupEntryForm
from signups.models import SignupForm
from signups.ratelimit import signup_attempt_allowed
from signups.services import (
    UTM_KEYS,
    LinkState,
    signup_confirm,
    signup_link_check,
    signup_submit,
)

TEMPLATES = "signups/public/"


def _language_code(value: str) -> str | None:
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in dict(settings.LANGUAGES) else None


def _page_language(code: str | None):
    """`?lang=` (the page's switch, carried through the POST) wins over the browser's choice
    that the LocaleMiddleware made."""
    code = _language_code(code or "")
    return translation.override(code) if code else nullcontext()


def _language_links(request: HttpRequest) -> list[dict]:
    """One link a language, named in that language ("Français", "English")."""
    links = []
    for code, _name in settings.LANGUAGES:
        query = request.GET.copy()
        query["lang"] = code
        name = translation.get_language_info(code)["name_local"]
        links.append(
            {
                "code": code,
                "name": name[:1].upper() + name[1:],
                "url": f"{request.path}?{query.urlencode()}",
            }
        )
    return links


def _render(request: HttpRequest, template: str, context: dict, status: int = 200):
    response = render(request, TEMPLATES + template, context, status=status)
    response["Content-Language"] = translation.get_language()
    return response


# Embedded snippets post here from other sites, with no CSRF cookie or token: the ALTCHA proof
# of work, the honeypot and the per-IP rate limit protect the form instead, and a sign-up only
# counts once its owner clicks the link e-mailed to the address.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signup_page(request: HttpRequest, slug: str) -> HttpResponse:
    signup_form = (
        SignupForm.objects.filter(slug=slug, is_active=True, consent_version__gt=0)
        .select_related("contact_list")
        .first()
    )
    language = request.POST.get("lang") or request.GET.get("lang")
    with _page_language(language):
        if signup_form is None:
            return _render(request, "closed.html", {}, status=404)
        context = {
            "signup_form": signup_form,
            "title": signup_form.title or signup_form.name,
            "languages": _language_links(request),
            "honeypot": HONEYPOT,
        }
        if request.method != "POST":
            initial = {key: request.GET.get(key, "") for key in UTM_KEYS}
            initial["lang"] = _language_code(language) or ""
            initial["language"] = translation.get_language()
            context["form"] = SignupEntryForm(initial=initial, signup_form=signup_form)
            return _render(request, "form.html", context)

        now = timezone.now()
        ip = client_ip(request)
        if not signup_attempt_allowed(ip=ip, now=now):
            return _render(request, "rate_limited.html", context, status=429)
        form = SignupEntryForm(_post_with_query_utm(request), signup_form=signup_form)
        if not form.is_valid():
            context["form"] = form
            return _render(request, "form.html", context, status=400)
        signup_submit(
            form=signup_form,
            email=form.cleaned_data["email"],
            data=form.answers(),
            consent_text=form.consent_text,
            ip=ip,
            utm=form.utm(),
            language=translation.get_language(),
            now=now,
        )
        # The same page whether the address was new, known or refused, so that the form does
        # not tell who is in the base.
        return _render(request, "thanks.html", context)


def _post_with_query_utm(request: HttpRequest):
    """The POST, with UTM parameters taken from the form's address when its hidden fields
    are empty (a snippet posting to /signup/x/?utm_source=...)."""
    data = request.POST.copy()
    for key in UTM_KEYS:
        if not data.get(key) and request.GET.get(key):
            data[key] = request.GET[key]
    return data


@never_cache
@require_GET
def captcha_challenge(request: HttpRequest, slug: str) -> JsonResponse:
    """A fresh ALTCHA challenge, fetched by the widget, from our pages or an embedded snippet
    on another site (hence CORS open to all: the challenge is no secret, and no cookie is
    sent)."""
    response = JsonResponse(captcha_challenge_create().to_dict())
    response["Access-Control-Allow-Origin"] = "*"
    return response


# The signed token in the URL is what authorises the confirmation (as for unsubscribing): the
# button's POST needs no CSRF cookie, which a browser opening the link from a webmail may not
# send. GET changes nothing: mail security scanners open links, and must not confirm anything.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signup_confirm_page(request: HttpRequest, signed: str) -> HttpResponse:
    link = signup_link_check(signed=signed)
    language = link.pending.language if link.pending else None
    with _page_language(language):
        if request.method == "POST" and link.state is LinkState.VALID:
            link = signup_confirm(signed=signed, ip=client_ip(request), now=timezone.now())
        context = {
            "link": link,
            "signup_form": link.form,
            "title": (link.form.title or link.form.name) if link.form else "",
        }
        if link.state is LinkState.VALID:
            return _render(request, "confirm.html", context)
        if link.state is LinkState.CONFIRMED:
            return _render(request, "confirmed.html", context)
        status = 410 if link.state is LinkState.EXPIRED else 404
        return _render(request, "invalid_link.html", context, status=status)
