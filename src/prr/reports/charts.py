"""Inline SVG charts for the HTML and PDF reports: no JavaScript, no network.

Every chart is a complete ``<svg>`` element with a ``role="img"`` and a title;
every piece of text in it is XML-escaped here, so a chart may be inserted
into a page as markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prr.reports.model import Architecture, CategoryRow, EvidenceShare, TrendPoint

COLOURS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "unknown": "#f9a825",
    "not_applicable": "#9e9e9e",
    "verified": "#2e7d32",
    "attested": "#1565c0",
    "none": "#f9a825",
    "blockers": "#c62828",
    "issues": "#ef6c00",
    "grid": "#e0e0e0",
    "text": "#212121",
    "muted": "#616161",
}
_STATUS_ORDER = (
    ("pass", "pass"),
    ("fail", "fail"),
    ("unknown", "unknown"),
    ("not_applicable", "n/a"),
)
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _svg(width: int, height: int, name: str, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{_e(name)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(title)}" {FONT} font-size="12">'
        f"<title>{_e(title)}</title>" + "".join(body) + "</svg>"
    )


def _legend(x: int, y: int, entries: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for label, colour in entries:
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{y + 10}" fill="{COLOURS["text"]}">{_e(label)}</text>')
        x += 24 + 7 * len(label)
    return out


def category_status_chart(categories: Sequence[CategoryRow]) -> str:
    """One stacked bar per category: pass, fail, unknown and not-applicable items."""
    label_w, bar_w, row_h, top = 170, 380, 28, 30
    width = label_w + bar_w + 170
    height = top + row_h * max(len(categories), 1) + 8
    body = _legend(label_w, 6, [(label, COLOURS[key]) for key, label in _STATUS_ORDER])
    for row_number, row in enumerate(categories):
        y = top + row_number * row_h
        total = sum(row.counts.values()) or 1
        body.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" '
            f'fill="{COLOURS["text"]}">{_e(row.title)}</text>'
        )
        x = float(label_w)
        for key, label in _STATUS_ORDER:
            count = row.counts.get(key, 0)
            if not count:
                continue
            w = bar_w * count / total
            body.append(
                f'<rect class="bar bar-{key}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
                f'height="{row_h - 8}" fill="{COLOURS[key]}">'
                f"<title>{_e(row.title)}: {count} {label}</title></rect>"
            )
            x += w
        status = f"{row.status.value}"
        if row.blockers:
            status += f" · {row.blockers} blocker{'s' if row.blockers != 1 else ''}"
        elif row.issues:
            status += f" · {row.issues} issue{'s' if row.issues != 1 else ''}"
        body.append(
            f'<text x="{label_w + bar_w + 10}" y="{y + 15}" '
            f'fill="{COLOURS["muted"]}">{_e(status)}</text>'
        )
    return _svg(width, height, "category-status", "Items per category by status", body)


def evidence_share_chart(share: EvidenceShare) -> str:
    """A ring: items verified by evidence, attested by a person, unknown."""
    width, height, cx, cy, r, stroke = 420, 170, 85, 85, 58, 26
    circumference = 2 * math.pi * r
    parts = [
        ("verified", "Verified by evidence", share.verified),
        ("attested", "Attested", share.attested),
        ("none", "Unknown", share.unknown),
    ]
    total = share.total
    body = [
        f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{COLOURS["grid"]}" '
        f'stroke-width="{stroke}"/>'
    ]
    offset = 0.0
    for key, label, count in parts:
        if not total or not count:
            continue
        length = circumference * count / total
        body.append(
            f'<circle class="ring ring-{key}" cx="{cx}" cy="{cy}" r="{r}" fill="none" '
            f'stroke="{COLOURS[key]}" stroke-width="{stroke}" '
            f'stroke-dasharray="{length:.2f} {circumference - length:.2f}" '
            f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {cx} {cy})">'
            f"<title>{_e(label)}: {count} of {total}</title></circle>"
        )
        offset += length
    body.append(
        f'<text x="{cx}" y="{cy + 2}" text-anchor="middle" font-size="20" font-weight="bold" '
        f'fill="{COLOURS["text"]}">{share.percent(share.verified):g}%</text>'
    )
    body.append(
        f'<text x="{cx}" y="{cy + 18}" text-anchor="middle" fill="{COLOURS["muted"]}">'
        "verified</text>"
    )
    y = 40
    for key, label, count in parts:
        body.append(f'<rect x="190" y="{y}" width="14" height="14" fill="{COLOURS[key]}"/>')
        body.append(
            f'<text x="212" y="{y + 12}" fill="{COLOURS["text"]}">{_e(label)}: {count} '
            f"({share.percent(count):g}%)</text>"
        )
        y += 30
    return _svg(width, height, "evidence-share", "Verified vs attested vs unknown", body)


def trend_chart(points: Sequence[TrendPoint]) -> str:
    """Blockers and issues of past scans, oldest on the left."""
    width, height = 640, 240
    left, right, top, bottom = 44, 20, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(p.blockers for p in points), *(p.issues for p in points)])
    step = max(1, math.ceil(peak / 5))
    ceiling = step * math.ceil(peak / step)
    body = _legend(left, 6, [("Blockers", COLOURS["blockers"]), ("Issues", COLOURS["issues"])])
    for tick in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * tick / ceiling
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{COLOURS["grid"]}"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{COLOURS["muted"]}">{tick}</text>'
        )
    count = len(points)

    def x_of(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y_of(value: int) -> float:
        return top + plot_h - plot_h * value / ceiling

    for key in ("issues", "blockers"):
        coords = [(x_of(i), y_of(getattr(p, key))) for i, p in enumerate(points)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            body.append(
                f'<polyline class="line line-{key}" points="{path}" fill="none" '
                f'stroke="{COLOURS[key]}" stroke-width="2.5"/>'
            )
        for (x, y), point in zip(coords, points, strict=True):
            body.append(
                f'<circle class="dot dot-{key}" cx="{x:.1f}" cy="{y:.1f}" r="4" '
                f'fill="{COLOURS[key]}"><title>{point.date.isoformat()}: '
                f"{getattr(point, key)} {key}</title></circle>"
            )
    every = max(1, math.ceil(count / 6))
    for index, point in enumerate(points):
        if index % every and index != count - 1:
            continue
        anchor = "middle"
        if count > 1 and index == 0:
            anchor = "start"
        elif count > 1 and index == count - 1:
            anchor = "end"
        body.append(
            f'<text x="{x_of(index):.1f}" y="{height - bottom + 18}" text-anchor="{anchor}" '
            f'fill="{COLOURS["muted"]}">{point.date.isoformat()}</text>'
        )
    return _svg(width, height, "trend", "Blockers and issues over past scans", body)


_LAYERS = ("entry", "lb", "edge", "service", "workload", "data")
_LAYER_FILL = {
    "entry": "#eceff1",
    "lb": "#e3f2fd",
    "edge": "#e3f2fd",
    "service": "#e8f5e9",
    "workload": "#fff8e1",
    "data": "#fce4ec",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def architecture_chart(architecture: Architecture) -> str:
    """The architecture as columns (entry → edge → services → workloads → data stores)."""
    columns = [
        [n for n in architecture.nodes if n.layer == layer]
        for layer in _LAYERS
        if any(n.layer == layer for n in architecture.nodes)
    ]
    box_w, box_h, gap_x, gap_y, pad = 200, 46, 44, 16, 12
    rows = max((len(c) for c in columns), default=1)
    width = pad * 2 + len(columns) * box_w + (len(columns) - 1) * gap_x
    height = pad * 2 + rows * box_h + (rows - 1) * gap_y
    where: dict[str, tuple[float, float]] = {}
    boxes: list[str] = []
    for col, members in enumerate(columns):
        x = pad + col * (box_w + gap_x)
        offset = (rows - len(members)) * (box_h + gap_y) / 2
        for row, node in enumerate(members):
            y = pad + offset + row * (box_h + gap_y)
            where[node.id] = (x, y)
            label = _clip(node.label, 30)
            detail = _clip(node.detail or "", 32)
            text_y = y + (17 if detail else box_h / 2 + 4)
            boxes.append(
                f'<g class="node node-{node.layer}"><rect x="{x:.1f}" y="{y:.1f}" '
                f'width="{box_w}" height="{box_h}" rx="6" fill="{_LAYER_FILL[node.layer]}" '
                f'stroke="#90a4ae"><title>{_e(node.text)}</title></rect>'
                f'<text x="{x + box_w / 2:.1f}" y="{text_y:.1f}" text-anchor="middle" '
                f'font-weight="bold" fill="{COLOURS["text"]}">{_e(label)}</text>'
                + (
                    f'<text x="{x + box_w / 2:.1f}" y="{y + 34:.1f}" text-anchor="middle" '
                    f'font-size="11" fill="{COLOURS["muted"]}">{_e(detail)}</text>'
                    if detail
                    else ""
                )
                + "</g>"
            )
    lines: list[str] = []
    for edge in architecture.edges:
        if edge.source not in where or edge.target not in where:
            continue
        (x1, y1), (x2, y2) = where[edge.source], where[edge.target]
        dash = ' stroke-dasharray="5 4"' if edge.assumed else ""
        lines.append(
            f'<line class="edge" x1="{x1 + box_w:.1f}" y1="{y1 + box_h / 2:.1f}" '
            f'x2="{x2:.1f}" y2="{y2 + box_h / 2:.1f}" stroke="#78909c" stroke-width="1.5"{dash}/>'
        )
    return _svg(width, height, "architecture", "Architecture", lines + boxes)
