from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignupsConfig(AppConfig):
    name = "signups"
    verbose_name = _("Sign-up forms")

    def ready(self) -> None:
        from contacts.privacy import privacy_section_register
        from signups.privacy import signups_privacy_erase, signups_privacy_export

        privacy_section_register(
            "signups", export=signups_privacy_export, erase=signups_privacy_erase
        )
