from django.utils.translation import gettext_lazy

from scenarios.blocks import block_kind
from scenarios.blocks._send import SendBlock


@block_kind
class SendSmsBlock(SendBlock):
    kind = "send_sms"
    label = gettext_lazy("Send SMS")
    sends = "sms"
