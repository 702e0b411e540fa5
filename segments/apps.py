from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = _("Segments")

    def ready(self) -> None:
        from contacts.privacy import privacy_section_register
        from segments.privacy import segments_privacy_export

        # The contact's GDPR export includes its segment history (nothing personal to erase).
        privacy_section_register("segments", export=segments_privacy_export)
