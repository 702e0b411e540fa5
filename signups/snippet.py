"""Where a sign-up form lives: its public address and the HTML snippet other sites embed."""

from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation

from signups.forms import HONEYPOT, SignupEntryForm
from signups.models import SignupForm
from signups.services import UTM_KEYS


def _absolute(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return settings.RELANCE_PUBLIC_URL + path


def signup_page_url(signup_form: SignupForm, **query: str) -> str:
    path = reverse("signups:signup", kwargs={"slug": signup_form.slug})
    return _absolute(path) + (f"?{urlencode(query)}" if query else "")


def signup_form_snippet(signup_form: SignupForm, *, language: str | None = None) -> str:
    """A self-contained HTML <form> posting to the public page, with the ALTCHA widget loaded
    from our static files, the honeypot, the current consent text (and its version) and a
    few lines of script copying the host page's utm_* parameters into hidden fields."""
    with translation.override(language or settings.LANGUAGE_CODE):
        # Ids of their own, unlikely to clash with the host page's.
        form = SignupEntryForm(signup_form=signup_form, auto_id=f"relance-{signup_form.slug}-%s")
        html = render_to_string(
            "signups/embed_snippet.html",
            {
                "signup_form": signup_form,
                "form": form,
                "fields": form.asked_bound_fields,
                "action": signup_page_url(signup_form),
                "challenge_url": _absolute(
                    reverse("signups:challenge", kwargs={"slug": signup_form.slug})
                ),
                "altcha_js": _absolute(static("altcha/altcha.min.js")),
                "altcha_i18n_js": _absolute(static("altcha/dist_i18n/all.min.js")),
                "honeypot": HONEYPOT,
                "utm_keys": UTM_KEYS,
                "language": translation.get_language(),
            },
        )
    # Blank lines left by template tags would only clutter what staff copy.
    return "\n".join(line for line in html.splitlines() if line.strip()) + "\n"
