from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns.webhooks import anymail_tracking_received

        # Deliveries, bounces and complaints posted by the e-mail provider.
        tracking.connect(anymail_tracking_received, dispatch_uid="campaigns.webhooks.tracking")
