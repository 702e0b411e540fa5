"""What segments announce to the apps built on them (scenarios enrol the contacts who enter).

`segment_entered` is sent once per evaluation that let contacts in, with:
- `segment`: the Segment;
- `entered_at`: the evaluation's time, which is the `entered_at` of every new membership, so
  `segment.memberships.filter(entered_at=entered_at)` is the set of contacts who entered;
- `count`: how many entered.

Receivers run inside the evaluation's transaction: what they write commits with the new
memberships, and an exception rolls the whole evaluation back, so no entry is ever lost
between the two. Receivers must therefore be set-based and quick.
"""

from django.dispatch import Signal

segment_entered = Signal()
