from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns.privacy import messages_privacy_erase, messages_privacy_export
        from campaigns.webhooks import anymail_tracking_received
        from contacts.privacy import privacy_section_register

        # Deliveries, bounces and complaints posted by the e-mail provider.
        tracking.connect(anymail_tracking_received, dispatch_uid="campaigns.webhooks.tracking")
        # A contact's messages in its GDPR export and erasure.
        privacy_section_register(
            "messages", export=messages_privacy_export, erase=messages_privacy_erase
        )
