"""PostgreSQL's `hashint8extended`, in Python.

The demo's events are drawn from a hash of (contact, purpose, index) rather than from a random
generator, so that PostgreSQL can draw them set-based, in any order and any plan, and Python can
draw exactly the same ones. This is PostgreSQL's own function (Bob Jenkins' lookup3 mix, see
src/common/hashfn.c and hashint8extended in src/backend/access/hash/hashfunc.c), stable across
versions since hash partitioning depends on it.
"""

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF
_INIT = (0x9E3779B9 + 4 + 3923095) & _M32


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M32


def pg_hashint8extended(value: int, seed: int) -> int:
    """`SELECT hashint8extended(value, seed)`: a signed 64-bit integer."""
    bits = value & _M64
    high = bits >> 32
    low = (bits & _M32) ^ (high if value >= 0 else ~high & _M32)
    a = b = c = _INIT
    seed &= _M64
    if seed:
        a = (a + (seed >> 32)) & _M32
        b = (b + (seed & _M32)) & _M32
        # mix(a, b, c)
        a = (a - c) & _M32
        a ^= _rot(c, 4)
        c = (c + b) & _M32
        b = (b - a) & _M32
        b ^= _rot(a, 6)
        a = (a + c) & _M32
        c = (c - b) & _M32
        c ^= _rot(b, 8)
        b = (b + a) & _M32
        a = (a - c) & _M32
        a ^= _rot(c, 16)
        c = (c + b) & _M32
        b = (b - a) & _M32
        b ^= _rot(a, 19)
        a = (a + c) & _M32
        c = (c - b) & _M32
        c ^= _rot(b, 4)
        b = (b + a) & _M32
    a = (a + low) & _M32
    # final(a, b, c)
    c ^= b
    c = (c - _rot(b, 14)) & _M32
    a ^= c
    a = (a - _rot(c, 11)) & _M32
    b ^= a
    b = (b - _rot(a, 25)) & _M32
    c ^= b
    c = (c - _rot(b, 16)) & _M32
    a ^= c
    a = (a - _rot(c, 4)) & _M32
    b ^= a
    b = (b - _rot(a, 14)) & _M32
    c ^= b
    c = (c - _rot(b, 24)) & _M32
    result = (b << 32) | c
    return result - (1 << 64) if result >> 63 else result
