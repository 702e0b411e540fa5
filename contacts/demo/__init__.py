"""Demo data: a realistic contact base with two years of history, for `seed_demo`.

`people` draws who the contacts are, `behaviour` what they do (the campaign calendar and the
rules that turn traits into events), `seeding` stores them, through `postgres` on PostgreSQL.
"""

from contacts.demo.seeding import (
    DemoBaseNotEmpty,
    DemoSeedError,
    DemoSeedResult,
    contacts_flush,
    demo_base_seed,
)

__all__ = [
    "DemoBaseNotEmpty",
    "DemoSeedError",
    "DemoSeedResult",
    "contacts_flush",
    "demo_base_seed",
]
