"""Content-Security-Policy: django-csp's middleware, with the admin's own policy.

Public pages (unsubscribe, sign-up, tracking) get `CONTENT_SECURITY_POLICY`, strict. The admin
gets `RELANCE_ADMIN_CONTENT_SECURITY_POLICY`: scripts still only from our own static files,
but images from any HTTPS address, because a campaign's preview shows the e-mail as sent (the
sandboxed preview frame inherits the page's policy). A view's own policy (django-csp's
decorators) always wins.
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and parts.config is None and _is_admin(request):
            parts.config = settings.RELANCE_ADMIN_CONTENT_SECURITY_POLICY["DIRECTIVES"]
        return parts


def _is_admin(request: HttpRequest) -> bool:
    return request.path_info.startswith(reverse("admin:index"))
