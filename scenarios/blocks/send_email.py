from django.utils.translation import gettext_lazy

from scenarios.blocks import block_kind
from scenarios.blocks._send import SendBlock


@block_kind
class SendEmailBlock(SendBlock):
    kind = "send_email"
    label = gettext_lazy("Send e-mail")
    sends = "email"
