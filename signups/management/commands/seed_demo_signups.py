"""A demo sign-up form for the 'Newsletter' list (make run)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.models import SenderProfile
from contacts.models import ContactList, LeadSource
from signups.models import SignupField, SignupForm
from signups.services import signup_form_save
from signups.snippet import signup_page_url

CONSENT = (
    "J'accepte de recevoir la newsletter de La Boutique par e-mail. Je peux me désinscrire à "
    "tout moment grâce au lien présent dans chaque e-mail."
)


class Command(BaseCommand):
    help = (
        "Create a demo sign-up form for the 'Newsletter' list (created if missing), sending "
        "its confirmation e-mails through the demo sender profile when there is one. Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be created.")

    @transaction.atomic
    def handle(self, *args, dry_run: bool = False, **options) -> None:
        existing = SignupForm.objects.filter(slug="newsletter").first()
        if existing is not None:
            self.stdout.write(f"Demo sign-up form already there: {signup_page_url(existing)}")
            return
        if dry_run:
            self.stdout.write("Would create the demo sign-up form /signup/newsletter/.")
            return
        newsletter, _ = ContactList.objects.get_or_create(name="Newsletter")
        source, _ = LeadSource.objects.get_or_create(name="Formulaire d'inscription")
        form = signup_form_save(
            form=SignupForm(
                name="Newsletter (démo)",
                slug="newsletter",
                contact_list=newsletter,
                lead_source=source,
                title="Inscrivez-vous à notre newsletter",
                introduction="Nouveautés, ventes privées et conseils, une fois par semaine.",
                asked_fields=[SignupField.FIRST_NAME, SignupField.LAST_NAME],
                required_fields=[SignupField.FIRST_NAME],
                consent_text=CONSENT,
                sender_profile=SenderProfile.objects.filter(name="Boutique (démo)").first(),
            )
        )
        self.stdout.write(f"Demo sign-up form: {signup_page_url(form)}")
