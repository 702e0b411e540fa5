"""`{% dashboard_panels %}`: the dashboard, on the admin's index page (templates/admin/index.html).

A tag rather than a custom AdminSite: the index keeps Django's own view and app list, and the
panels are computed only where the tag is used.
"""

from django import template

from dashboard.panels import dashboard_panels as panels_for

register = template.Library()


@register.inclusion_tag("dashboard/panels.html", takes_context=True)
def dashboard_panels(context: template.Context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"panels": panels_for(user=user) if user is not None else []}
