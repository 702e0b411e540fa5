"""Public endpoints reached from messages and providers: tracking, unsubscribe, SMS replies."""

from django.urls import path  # noqa: F401

app_name = "campaigns"

urlpatterns = []
