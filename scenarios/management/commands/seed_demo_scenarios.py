"""A demo Inactivity scenario, activated, so `make run` shows the engine at work."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from scenarios.models import Scenario, ScenarioTemplate
from scenarios.services import scenario_activate, scenario_check, scenario_create_from_template

DEMO_NAME = "Relance des inactifs (démo)"


class Command(BaseCommand):
    help = (
        "Create and activate a demo scenario from the Inactivity template (after "
        "seed_demo_campaigns, whose reactivation sender profile it sends through). The worker "
        "then enrols the inactive segment's members and moves them. Idempotent."
    )

    def handle(self, *args, **options) -> None:
        if Scenario.objects.filter(name=DEMO_NAME).exists():
            return
        template = ScenarioTemplate.objects.filter(slug="inactivity").first()
        if template is None:
            raise CommandError("The Inactivity template is missing: run migrate first.")
        with transaction.atomic():
            scenario = scenario_create_from_template(template=template, name=DEMO_NAME)
            problems = scenario_check(scenario)
            if problems:
                # Left as a draft for staff to finish, with what is missing on its page.
                self.stdout.write(f"{DEMO_NAME}: left as a draft ({'; '.join(problems)})")
                return
            scenario_activate(scenario=scenario)
        self.stdout.write(f"{DEMO_NAME}: active; the worker enrols the inactive contacts.")
