"""Demo sender profiles and a draft campaign to try sending with (make run)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.models import Campaign, SenderProfile
from contacts.models import ContactList

HTML = """<html><body>
<p>Bonjour {{ first_name|default:"à vous" }},</p>
<p>Nos nouveautés de saison sont arrivées : <a href="https://boutique.example/nouveautes">découvrez-les</a>.</p>
<p>Il vous reste {{ loyalty_points }} points de fidélité.</p>
<p><a href="{{ unsubscribe_url }}">Se désinscrire</a></p>
</body></html>"""
TEXT = """Bonjour {{ first_name|default:"à vous" }},

Nos nouveautés de saison sont arrivées : https://boutique.example/nouveautes
Il vous reste {{ loyalty_points }} points de fidélité.

Se désinscrire : {{ unsubscribe_url }}"""


class Command(BaseCommand):
    help = (
        "Create demo sender profiles (main and reactivation, through the site's EMAIL_BACKEND) "
        "and a draft newsletter to the demo 'Newsletter' list. Idempotent."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        main, _ = SenderProfile.objects.get_or_create(
            name="Boutique (démo)",
            defaults={
                "from_name": "La Boutique",
                "from_email": "news@boutique.example",
                "reply_to": "contact@boutique.example",
            },
        )
        reactivation, _ = SenderProfile.objects.get_or_create(
            name="Boutique réactivation (démo)",
            defaults={
                "purpose": SenderProfile.Purpose.REACTIVATION,
                "from_name": "La Boutique",
                "from_email": "bonjour@relance.boutique.example",
            },
        )
        if Campaign.objects.filter(name="Nouveautés de saison (démo)").exists():
            return
        campaign = Campaign.objects.create(
            name="Nouveautés de saison (démo)",
            sender_profile=main,
            reactivation_profile=reactivation,
            subject="{{ first_name|default:'Bonjour' }}, nos nouveautés sont là",
            preheader="Et vos points de fidélité vous attendent",
            html_body=HTML,
            text_body=TEXT,
        )
        newsletter = ContactList.objects.filter(name="Newsletter").first()
        if newsletter is not None:
            campaign.target_lists.add(newsletter)
        self.stdout.write(f"Demo campaign ready to send: {campaign.name}")
