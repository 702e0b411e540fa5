"""The preference centre: the page behind the signed link every e-mail carries.

No login: the link's signature says whose page it is, and its date when it stops working
(RELANCE_PREFERENCES_TOKEN_DAYS). A forged or altered link, or one of a contact whose data was
erased, gets a "link not valid" page (404); an expired one a page saying so (410); neither
changes anything. GET only shows; changes are POSTed with the CSRF token, then the page is
shown again (post/redirect/get) with what was done. The rules are campaigns.preferences.
"""

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaigns import tracking
from campaigns.models import Message
from campaigns.preferences import (
    EMAIL_CAN_CHANGE,
    SMS_CAN_CHANGE,
    contact_preference_list_ids,
    contact_preferences_update,
    contact_stay_record,
    contact_unsubscribe_all,
    preference_lists,
)
from campaigns.views.unsubscribe import contact_language
from contacts.models import Contact, ContactList, EmailStatus, SmsStatus

TEMPLATES = "campaigns/public/"
ACTION_SAVE, ACTION_STAY, ACTION_UNSUBSCRIBE = "save", "stay", "unsubscribe_all"
# What the page says after each action (the `done` parameter of the redirect).
DONE = {
    "saved": _("Your preferences are saved."),
    "unchanged": _("Nothing has changed: your preferences were already these."),
    "stayed": _("Thank you! You stay subscribed to our e-mails."),
    "unsubscribed": _("You are unsubscribed: you will no longer receive our e-mails or SMS."),
}


class PreferencesForm(forms.Form):
    """The contact's choices. A channel it may not turn on (a bounced address, an SMS without
    prior consent) is shown disabled: the posted value is ignored for it."""

    lists = forms.ModelMultipleChoiceField(
        label=_("Lists"),
        queryset=ContactList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    email = forms.BooleanField(label=_("E-mails"), required=False)
    sms = forms.BooleanField(label=_("SMS"), required=False)

    def __init__(self, *args, contact: Contact, **kwargs) -> None:
        kwargs.setdefault(
            "initial",
            {
                "lists": sorted(contact_preference_list_ids(contact)),
                "email": contact.email_status == EmailStatus.SUBSCRIBED,
                "sms": contact.sms_status == SmsStatus.SUBSCRIBED,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["lists"].queryset = preference_lists()
        self.fields["lists"].label_from_instance = _list_label
        self.fields["email"].disabled = contact.email_status not in EMAIL_CAN_CHANGE
        if contact.phone:
            self.fields["sms"].disabled = contact.sms_status not in SMS_CAN_CHANGE
        else:
            del self.fields["sms"]


def _list_label(contact_list: ContactList) -> str:
    if not contact_list.description:
        return contact_list.name
    return format_html(
        '{} <span class="help">{}</span>', contact_list.name, contact_list.description
    )


def _link_page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    response = render(request, TEMPLATES + template, status=status)
    response["Content-Language"] = translation.get_language()
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request: HttpRequest, signed: str) -> HttpResponse:
    link = tracking.preferences_token_resolve(signed)
    contact = None
    if link is not None:
        contact = (
            Contact.objects.filter(pk=link.contact_id, erased_at__isnull=True)
            .only("pk", "email", "phone", "language", "email_status", "sms_status")
            .first()
        )
    if contact is None:
        return _link_page(request, "link_invalid.html", 404)
    with contact_language(contact.language):
        if link.expired:
            return _link_page(request, "link_expired.html", 410)
        message = None
        if link.message_token:
            message = (
                Message.objects.select_related("campaign")
                .only("id", "token", "contact_id", "campaign__id", "campaign__key")
                .filter(token=link.message_token, contact_id=contact.pk)
                .first()
            )
        form = PreferencesForm(contact=contact)
        status = 200
        if request.method == "POST":
            action = request.POST.get("action")
            done = None
            if action == ACTION_STAY:
                contact_stay_record(contact_id=contact.pk, message=message)
                done = "stayed"
            elif action == ACTION_UNSUBSCRIBE:
                contact_unsubscribe_all(contact=contact, message=message)
                done = "unsubscribed"
            elif action == ACTION_SAVE:
                form = PreferencesForm(request.POST, contact=contact)
                if form.is_valid():
                    change = contact_preferences_update(
                        contact=contact,
                        message=message,
                        email=form.cleaned_data["email"],
                        sms=form.cleaned_data.get("sms", False),
                        lists=form.cleaned_data["lists"],
                    )
                    done = "saved" if change.changed else "unchanged"
            else:
                form.add_error(None, _("Choose one of the buttons below."))
            if done is not None:
                return HttpResponseRedirect(f"{request.path}?done={done}")
            status = 400
        context = {
            "email": contact.email,
            "form": form,
            "done": DONE.get(request.GET.get("done", "")) if request.method != "POST" else None,
            "can_stay": contact.email_status in (EmailStatus.SUBSCRIBED, EmailStatus.CLEANED),
            "email_status": contact.get_email_status_display(),
            "has_lists": preference_lists().exists(),
        }
        response = render(request, TEMPLATES + "preferences.html", context, status=status)
        response["Content-Language"] = translation.get_language()
    return response
