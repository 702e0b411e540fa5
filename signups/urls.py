"""Public sign-up pages (see signups.views)."""

from django.urls import path

from signups import views

app_name = "signups"

urlpatterns = [
    # Before the form's own pages: "confirm" is a reserved slug (signups.models.RESERVED_SLUGS).
    path("signup/confirm/<str:signed>/", views.signup_confirm_page, name="confirm"),
    path("signup/<slug:slug>/", views.signup_page, name="signup"),
    path("signup/<slug:slug>/challenge/", views.captcha_challenge, name="challenge"),
]
