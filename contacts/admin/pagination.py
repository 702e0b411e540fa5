"""A paginator for tables too big to count.

`SELECT COUNT(*)` over a million contacts or thirty million events takes longer than the page
itself. The changelist only needs a number to draw its page links, so:

- an unfiltered list on PostgreSQL uses the planner's row estimate (`pg_class.reltuples`),
  shown as "about N";
- anything else counts at most `cap + 1` matching rows (`COUNT(*)` over a `LIMIT` subquery),
  shown as "N+" when there are more.

Small results are still counted exactly.
"""

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    cap = 10_000

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.count_is_estimate = False
        self.count_is_capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        if not queryset.query.where:
            estimate = table_row_estimate(queryset)
            if estimate is not None and estimate > self.cap:
                self.count_is_estimate = True
                return estimate
        # Without ORDER BY the database may stop at the cap + 1st match however it finds
        # the rows (a sort would need every match first).
        count = queryset.order_by()[: self.cap + 1].count()
        if count > self.cap:
            self.count_is_capped = True
            return self.cap
        return count


def table_row_estimate(queryset: QuerySet) -> int | None:
    """The planner's estimate of the table's rows on PostgreSQL, else None.

    None also when the table was never analysed (reltuples is -1, or 0 before PostgreSQL 14).
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] <= 0:
        return None
    return int(row[0])


class QuickCountPaginator(EstimatedCountPaginator):
    """A smaller cap, for tables that are browsed rather than counted.

    On the activity log and list memberships "1 000+" is all anyone needs to know of a
    filtered list, and it costs a tenth of counting to 10 000.
    """

    cap = 1_000
