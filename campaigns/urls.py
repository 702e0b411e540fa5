"""Public endpoints reached from messages and providers: tracking, unsubscribe, preferences,
SMS replies."""

from django.urls import path  # noqa: F401

from campaigns.views import preferences as preferences_views
from campaigns.views import sms as sms_views
from campaigns.views import tracking as tracking_views
from campaigns.views import unsubscribe as unsubscribe_views

app_name = "campaigns"

urlpatterns = [
    path("sms/inbound/", sms_views.sms_inbound, name="sms_inbound"),
    # Signed message links (see campaigns.tracking).
    path("t/o/<str:signed>.gif", tracking_views.open_pixel, name="open"),
    path("t/c/<str:signed>/", tracking_views.click_redirect, name="click"),
    path("u/<str:signed>/", unsubscribe_views.unsubscribe, name="unsubscribe"),
    path("p/<str:signed>/", preferences_views.preferences, name="preferences"),
]
