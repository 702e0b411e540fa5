"""Where higher apps tell campaigns about their contacts, without campaigns importing them.

`scenarios` sits above `campaigns` (see DESIGN.md): it registers a provider saying which
contacts are currently enrolled in a reactivation scenario, and the dilution of a regular
campaign leaves those contacts out (they are already being won back, on their own schedule).
"""

from collections.abc import Callable

from django.db.models import Exists, OuterRef, Q, QuerySet

# A provider takes the outer contact's primary key (an `OuterRef`) and returns a queryset of
# that contact's current reactivation enrolments, e.g.
# `lambda contact: Enrollment.objects.filter(contact_id=contact, state__in=OPEN_STATES)`.
# Combined with `Exists`, it compiles to a (NOT) EXISTS the planner turns into a (anti-)join.
ReactivationEnrollmentProvider = Callable[[OuterRef], QuerySet]

_providers: list[ReactivationEnrollmentProvider] = []


def reactivation_enrollment_register(
    provider: ReactivationEnrollmentProvider,
) -> ReactivationEnrollmentProvider:
    """Declare `provider` (once; returns it, so it can decorate a function)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def reactivation_enrollment_unregister(provider: ReactivationEnrollmentProvider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def reactivation_enrollment_registered() -> bool:
    return bool(_providers)


def reactivation_enrolled_q() -> Q:
    """Contacts enrolled in a reactivation scenario, as a `Q` on `Contact` (no one when nothing
    is registered)."""
    if not _providers:
        return Q(pk__in=[])
    q = Q()
    for provider in _providers:
        q |= Q(Exists(provider(OuterRef("pk"))))
    return q
