"""Sign-ups: saving a form (consent text versions), taking a submission, the double opt-in.

A submission only writes a `PendingSignup` and queues the confirmation e-mail. The contact base
changes when the signed link is used (`signup_confirm`): the contact is created or found by
e-mail (never duplicated), subscribed (an unsubscribed contact who confirms gives a new, explicit
consent), added to the form's list, and a `ConsentRecord` keeps the proof. Bounced and
complained addresses are never resubscribed: their sign-ups are dropped silently, and the
visitor sees the same pages as anyone else, so the form does not tell who is in the base.
"""

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django_q.tasks import async_task

from campaigns.delivery import sender_connection
from contacts.models import Contact, EmailStatus, LeadSource, ListMembership
from contacts.privacy import address_is_erased
from signups.models import ConsentRecord, ConsentText, PendingSignup, SignupForm

logger = logging.getLogger(__name__)

# A sign-up never changes these: the address hurts deliverability, or its owner reported us.
BLOCKED_STATUSES = (EmailStatus.BOUNCED, EmailStatus.COMPLAINED)
# A confirmed sign-up subscribes these again: the click is a new, explicit consent.
RESUBSCRIBABLE_STATUSES = (EmailStatus.UNSUBSCRIBED, EmailStatus.CLEANED)
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CONFIRM_SALT = "signups.confirm"
STATUS_REASON = "sign-up form"


# Forms ---------------------------------------------------------------------------------------


@transaction.atomic
def signup_form_save(*, form: SignupForm) -> SignupForm:
    """Saves a form; a new or changed consent text becomes its next version (the old ones stay,
    for the consent records that point at them)."""
    form.save()
    latest = form.consent_texts.order_by("-version").first()
    if latest is None or latest.text != form.consent_text:
        version = (latest.version if latest else 0) + 1
        ConsentText.objects.create(form=form, version=version, text=form.consent_text)
        SignupForm.objects.filter(pk=form.pk).update(consent_version=version)
        form.consent_version = version
    return form


def consent_text_shown(*, form: SignupForm, version: int | None) -> ConsentText:
    """The version a visitor saw: the one the page (or an older embedded snippet) named, or the
    current one when it named none or one this form never had."""
    texts = form.consent_texts.order_by("-version")
    if version:
        shown = texts.filter(version=version).first()
        if shown is not None:
            return shown
    return texts.first()


# Submission ----------------------------------------------------------------------------------


@transaction.atomic
def signup_submit(
    *,
    form: SignupForm,
    email: str,
    data: dict[str, str],
    consent_text: ConsentText,
    ip: str | None,
    utm: dict[str, str],
    language: str,
    now: datetime,
) -> PendingSignup | None:
    """Records a sign-up awaiting confirmation and queues its confirmation e-mail.

    Signing up again for the same form refreshes the pending sign-up (same link, e-mail sent
    again). A bounced or complained address, or one erased under GDPR (staff let it back in by
    deleting its fingerprint), gets nothing (None), and nothing is recorded."""
    if Contact.objects.filter(email=email, email_status__in=BLOCKED_STATUSES).exists():
        logger.info("Sign-up to form %s ignored: the address is bounced or complained", form.pk)
        return None
    if address_is_erased(email):
        logger.info("Sign-up to form %s ignored: the address was erased under GDPR", form.pk)
        return None
    pending, _created = PendingSignup.objects.update_or_create(
        form=form,
        email=email,
        defaults={
            "data": data,
            "consent_text": consent_text,
            "ip": ip,
            "utm": utm,
            "language": language,
            "created_at": now,
        },
    )
    transaction.on_commit(partial(async_task, "signups.tasks.signup_confirmation_send", pending.pk))
    return pending


# Confirmation e-mail -------------------------------------------------------------------------


def signup_confirmation_url(*, pending: PendingSignup) -> str:
    signed = signing.dumps(pending.token.hex, salt=CONFIRM_SALT)
    path = reverse("signups:confirm", kwargs={"signed": signed})
    return settings.RELANCE_PUBLIC_URL + path


def _language(code: str):
    return translation.override(code or settings.LANGUAGE_CODE)


def signup_confirmation_email_send(*, pending: PendingSignup) -> None:
    """Sends the confirmation link, through the form's sender profile when it has one, in the
    language of the page the visitor signed up on."""
    form = pending.form
    profile = form.sender_profile
    with _language(pending.language):
        context = {
            "form": form,
            "title": form.title or form.name,
            "text": form.confirmation_email_text,
            "url": signup_confirmation_url(pending=pending),
            "expiry_days": form.expiry_days,
        }
        subject = form.confirmation_email_subject or gettext("Please confirm your subscription")
        text = render_to_string("signups/email/confirmation.txt", context)
        html = render_to_string("signups/email/confirmation.html", context)
    from_email = (
        formataddr((profile.from_name, profile.from_email))
        if profile
        else settings.DEFAULT_FROM_EMAIL
    )
    from_address = profile.from_email if profile else settings.DEFAULT_FROM_EMAIL
    domain = from_address.rpartition("@")[2].strip(">") or "localhost"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email,
        to=[pending.email],
        reply_to=[profile.reply_to] if profile and profile.reply_to else None,
        # Auto-Submitted tells auto-responders not to answer (RFC 3834); the Message-ID is
        # on the sender's domain, as spam filters expect, rather than this host's name.
        headers={"Auto-Submitted": "auto-generated", "Message-ID": make_msgid(domain=domain)},
        connection=sender_connection(profile),
    )
    message.attach_alternative(html, "text/html")
    message.send()


# Confirmation --------------------------------------------------------------------------------


class LinkState(enum.Enum):
    VALID = "valid"  # the sign-up waits for this confirmation
    CONFIRMED = "confirmed"  # just confirmed, or confirmed earlier (a second click)
    EXPIRED = "expired"
    INVALID = "invalid"  # forged, mangled, or its sign-up no longer exists


@dataclass(frozen=True)
class ConfirmationLink:
    state: LinkState
    pending: PendingSignup | None = None
    form: SignupForm | None = None


def signup_link_check(*, signed: str) -> ConfirmationLink:
    """What a confirmation link leads to, changing nothing."""
    try:
        token_hex = signing.loads(signed, salt=CONFIRM_SALT)
    except signing.BadSignature:
        return ConfirmationLink(LinkState.INVALID)
    pending = (
        PendingSignup.objects.select_related("form", "consent_text").filter(token=token_hex).first()
    )
    if pending is None:
        records = ConsentRecord.objects.select_related("form").filter(signup_token=token_hex)
        record = records.first()
        if record is not None:
            return ConfirmationLink(LinkState.CONFIRMED, form=record.form)
        return ConfirmationLink(LinkState.INVALID)
    try:
        signing.loads(signed, salt=CONFIRM_SALT, max_age=timedelta(days=pending.form.expiry_days))
    except signing.SignatureExpired:
        return ConfirmationLink(LinkState.EXPIRED, pending=pending, form=pending.form)
    return ConfirmationLink(LinkState.VALID, pending=pending, form=pending.form)


def lead_source_for_utm(utm_source: str) -> LeadSource | None:
    """The lead source a utm_source names (any case), created when new."""
    name = utm_source.strip()[:100]
    if not name:
        return None
    source = LeadSource.objects.filter(name__iexact=name).order_by("pk").first()
    if source is None:
        source, _created = LeadSource.objects.get_or_create(name=name)
    return source


@transaction.atomic
def signup_confirm(*, signed: str, ip: str | None, now: datetime) -> ConfirmationLink:
    """Confirms a sign-up from its link.

    1. The pending sign-up is claimed by deleting it: of two clicks at once, one does the work
       and the other finds it confirmed.
    2. The contact is found by e-mail or created (with the answers, the page's language and
       the lead source that utm_source names, else the form's); an existing contact only gets
       the answers for its empty fields.
    3. A new, unsubscribed or cleaned contact becomes subscribed; a bounced or complained one
       is left alone and nothing more happens.
    4. The contact joins the form's list, and a consent record keeps the proof.
    """
    link = signup_link_check(signed=signed)
    if link.state is not LinkState.VALID:
        return link
    pending = link.pending
    if not PendingSignup.objects.filter(pk=pending.pk).delete()[0]:
        return ConfirmationLink(LinkState.CONFIRMED, form=link.form)

    form = pending.form
    answers = {key: value for key, value in pending.data.items() if value}
    source = lead_source_for_utm(pending.utm.get("utm_source", "")) or form.lead_source
    contact, created = Contact.objects.get_or_create(
        email=pending.email,
        defaults={
            **answers,
            "language": answers.get("language") or pending.language,
            "lead_source": source,
            "created_at": now,
            "email_status": EmailStatus.SUBSCRIBED,
            "email_status_reason": STATUS_REASON,
            "email_status_changed_at": now,
        },
    )
    if not created:
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if contact.email_status in BLOCKED_STATUSES:
            logger.info("Sign-up confirmation for a bounced or complained contact ignored")
            return ConfirmationLink(LinkState.CONFIRMED, form=form)
        _contact_complete(contact=contact, answers=answers, source=source, now=now)

    ListMembership.objects.bulk_create(
        [ListMembership(contact_list_id=form.contact_list_id, contact=contact, subscribed_at=now)],
        ignore_conflicts=True,
    )
    ConsentRecord.objects.create(
        contact=contact,
        form=form,
        consent_text=pending.consent_text,
        signup_token=pending.token,
        email=pending.email,
        signed_up_at=pending.created_at,
        ip=pending.ip,
        confirmed_at=now,
        confirmation_ip=ip,
        utm=pending.utm,
    )
    return ConfirmationLink(LinkState.CONFIRMED, form=form)


def _contact_complete(
    *, contact: Contact, answers: dict[str, str], source: LeadSource | None, now: datetime
) -> None:
    """Fills an existing contact's empty fields from the sign-up, and subscribes it again
    when it had unsubscribed or been cleaned. What it already holds is never overwritten."""
    changed = []
    for field, value in answers.items():
        if not getattr(contact, field):
            setattr(contact, field, value)
            changed.append(field)
    if contact.lead_source_id is None and source is not None:
        contact.lead_source = source
        changed.append("lead_source")
    if contact.email_status in RESUBSCRIBABLE_STATUSES:
        contact.email_status = EmailStatus.SUBSCRIBED
        contact.email_status_reason = STATUS_REASON
        contact.email_status_changed_at = now
        changed += ["email_status", "email_status_reason", "email_status_changed_at"]
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])


# Expiry --------------------------------------------------------------------------------------


def pending_signups_expire(*, now: datetime) -> int:
    """Deletes the sign-ups not confirmed within their form's delay; one statement a form."""
    deleted = 0
    for form_id, days in SignupForm.objects.values_list("pk", "expiry_days"):
        count, _ = PendingSignup.objects.filter(
            form_id=form_id, created_at__lt=now - timedelta(days=days)
        ).delete()
        deleted += count
    return deleted
