"""A scenario's graph drawn server-side as SVG: blocks laid out top-down by their distance from
the entry block, arrows labelled with the branch they follow, live counts in each box. No
JavaScript and nothing fetched from elsewhere: the SVG is inlined in the admin page.

Every text is escaped: block names and keys are typed by staff.
"""

from collections import deque
from collections.abc import Callable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from scenarios.blocks import REGISTRY, handlers_load
from scenarios.models import Block, Scenario
from scenarios.reports import BlockCounts, scenario_block_counts

BOX_WIDTH = 210
BOX_HEIGHT = 74
GAP_X = 40
GAP_Y = 58
MARGIN = 24
NAME_CHARS = 30

KIND_COLOURS = {
    "entry": "#dbeafe",
    "end": "#e5e7eb",
    "send_email": "#dcfce7",
    "send_sms": "#dcfce7",
    "split": "#fef3c7",
    "condition": "#fef3c7",
    "wait": "#f3e8ff",
    "wait_until": "#f3e8ff",
    "wait_for_click": "#f3e8ff",
}


def _layers(blocks: list[Block]) -> dict[str, int]:
    """Each block's depth: breadth-first from the entry; blocks not reached go below."""
    by_key = {block.key: block for block in blocks}
    depth: dict[str, int] = {}
    entries = [block.key for block in blocks if block.kind == "entry"]
    starts = entries[:1] or [block.key for block in blocks[:1]]
    queue = deque()
    for key in starts:
        depth[key] = 0
        queue.append(key)
    while queue:
        key = queue.popleft()
        for target in _targets(by_key[key]):
            if target in by_key and target not in depth:
                depth[target] = depth[key] + 1
                queue.append(target)
    lowest = max(depth.values(), default=-1) + 1
    for block in blocks:
        depth.setdefault(block.key, lowest)
    return depth


def _targets(block: Block) -> list[str]:
    next_keys = block.next if isinstance(block.next, dict) else {}
    return [target for target in next_keys.values() if isinstance(target, str) and target]


def _text(x: float, y: float, text: str, css: str = "", anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" class="{css}">{escape(text)}</text>'
    )


def _short(text: str, size: int = NAME_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def scenario_diagram(
    scenario: Scenario,
    counts: dict[int, BlockCounts] | None = None,
    block_url: Callable[[Block], str] | None = None,
) -> SafeString:
    """The scenario as an inline <svg> element; with `block_url`, each box links to it."""
    if not REGISTRY:
        handlers_load()
    blocks = list(scenario.blocks.order_by("position", "pk"))
    if counts is None:
        counts = scenario_block_counts(scenario)
    depth = _layers(blocks)
    rows: dict[int, list[Block]] = {}
    for block in blocks:
        rows.setdefault(depth[block.key], []).append(block)
    widest = max((len(row) for row in rows.values()), default=1)
    width = MARGIN * 2 + widest * BOX_WIDTH + (widest - 1) * GAP_X + 120
    height = MARGIN * 2 + max(len(rows), 1) * (BOX_HEIGHT + GAP_Y)

    position: dict[str, tuple[float, float]] = {}
    for level, row in rows.items():
        row_width = len(row) * BOX_WIDTH + (len(row) - 1) * GAP_X
        left = (width - 120 - row_width) / 2
        for index, block in enumerate(row):
            position[block.key] = (
                left + index * (BOX_WIDTH + GAP_X),
                MARGIN + level * (BOX_HEIGHT + GAP_Y),
            )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="scenario-diagram" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{escape(gettext("Scenario diagram"))}">',
        "<style>.scenario-diagram text{font:12px sans-serif;fill:#111}"
        ".scenario-diagram .kind{font-weight:bold}.scenario-diagram .counts{fill:#374151}"
        ".scenario-diagram .branch{font-size:11px;fill:#1d4ed8}"
        ".scenario-diagram .edge{stroke:#6b7280;fill:none;stroke-width:1.4}"
        ".scenario-diagram a:hover rect{stroke-width:2.5}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'fill="#6b7280"/></marker></defs>',
    ]
    # Arrows first, boxes over them.
    for block in blocks:
        sx, sy = position[block.key]
        next_keys = block.next if isinstance(block.next, dict) else {}
        outgoing = [(b, t) for b, t in next_keys.items() if t in position]
        for index, (branch, target) in enumerate(outgoing):
            tx, ty = position[target]
            start_x = sx + BOX_WIDTH * (index + 1) / (len(outgoing) + 1)
            if depth[target] > depth[block.key]:
                x1, y1, x2, y2 = start_x, sy + BOX_HEIGHT, tx + BOX_WIDTH / 2, ty
                middle = (y1 + y2) / 2
                parts.append(
                    f'<path class="edge" d="M{x1:.0f},{y1:.0f} C{x1:.0f},{middle:.0f} '
                    f'{x2:.0f},{middle:.0f} {x2:.0f},{y2:.0f}" marker-end="url(#arrow)"/>'
                )
                label_x, label_y = (x1 + x2) / 2 + 4, middle - 3
            else:
                # A loop back up: around the right side of the boxes.
                x1, y1 = sx + BOX_WIDTH, sy + BOX_HEIGHT / 2
                x2, y2 = tx + BOX_WIDTH, ty + BOX_HEIGHT / 2
                bend = max(x1, x2) + 60
                parts.append(
                    f'<path class="edge" d="M{x1:.0f},{y1:.0f} C{bend:.0f},{y1:.0f} '
                    f'{bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" marker-end="url(#arrow)"/>'
                )
                label_x, label_y = bend - 10, (y1 + y2) / 2
            if branch != "next":
                # The branch's name and how many enrollments took it.
                taken = (counts.get(block.pk) or BlockCounts()).branches.get(branch, 0)
                parts.append(_text(label_x, label_y, f"{branch} ({taken})", "branch", "start"))
    for block in blocks:
        x, y = position[block.key]
        handler = REGISTRY.get(block.kind)
        label = str(handler.label) if handler is not None and handler.label else block.kind
        count = counts.get(block.pk) or BlockCounts()
        colour = KIND_COLOURS.get(block.kind, "#ffffff")
        if block_url is not None:
            parts.append(f'<a href="{escape(block_url(block))}">')
        parts.append(
            f'<g class="block" data-key="{escape(block.key)}">'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" '
            f'fill="{colour}" stroke="#374151"/>'
        )
        parts.append(_text(x + BOX_WIDTH / 2, y + 18, _short(label), "kind"))
        parts.append(_text(x + BOX_WIDTH / 2, y + 36, _short(block.name or block.key)))
        parts.append(
            _text(
                x + BOX_WIDTH / 2,
                y + 58,
                gettext("waiting %(waiting)s · passed %(passed)s")
                % {"waiting": count.waiting, "passed": count.passed},
                "counts",
            )
        )
        parts.append("</g>")
        if block_url is not None:
            parts.append("</a>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
