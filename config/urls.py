from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # django-anymail's tracking webhooks (deliveries, bounces, complaints), under
    # /anymail/<esp>/tracking/, authenticated by ANYMAIL["WEBHOOK_SECRET"] (basic auth).
    path("anymail/", include("anymail.urls")),
    path("", include("campaigns.urls")),
    path("", include("signups.urls")),
]
