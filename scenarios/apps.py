from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScenariosConfig(AppConfig):
    name = "scenarios"
    verbose_name = _("Scenarios")

    def ready(self) -> None:
        from campaigns.registry import reactivation_enrollment_register
        from scenarios.blocks import handlers_load
        from scenarios.models import Enrollment
        from scenarios.receivers import on_segment_entered
        from segments.signals import segment_entered

        handlers_load()
        segment_entered.connect(on_segment_entered, dispatch_uid="scenarios_segment_entered")

        def open_enrollments(contact):
            # The contacts being won back by a scenario: regular campaigns' dilution skips them.
            return Enrollment.objects.filter(contact_id=contact, state__in=Enrollment.OPEN_STATES)

        reactivation_enrollment_register(open_enrollments)

        # A contact's enrollments in its GDPR export and erasure.
        from contacts.privacy import privacy_section_register
        from scenarios.privacy import scenarios_privacy_erase, scenarios_privacy_export

        privacy_section_register(
            "scenarios", export=scenarios_privacy_export, erase=scenarios_privacy_erase
        )
