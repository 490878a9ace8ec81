"""Draw the performance page's server table as an SVG bar chart (no plotting library).

``python benchmarks/chart.py`` reads the "Servers" table of docs/performance.rst and
writes docs/_static/servers-c50.svg: requests per second at 50 connections, rttp's rows
highlighted. The chart is made from the table, so the two cannot disagree.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

ROOT = Path(__file__).parents[1]
PAGE = ROOT / "docs" / "performance.rst"
OUT = ROOT / "docs" / "_static" / "servers-c50.svg"


def server_rows(text: str) -> list[tuple[str, float]]:
    """(server, c=50 req/s) from the first table after "Servers:"."""
    section = text.split("Servers:", 1)[1]
    lines = section.splitlines()
    borders = [i for i, line in enumerate(lines) if line.startswith("====")]
    rule = lines[borders[0]]
    columns = [m.span() for m in re.finditer(r"=+", rule)]
    header = lines[borders[0] + 1]
    names = [
        header[a : b if i + 1 < len(columns) else None].strip() for i, (a, b) in enumerate(columns)
    ]
    wanted = names.index("c=50 req/s")
    rows = []
    for line in lines[borders[1] + 1 : borders[2]]:
        first = line[columns[0][0] : columns[1][0]].strip()
        cells = line[columns[0][1] :].split()
        rows.append((first, float(cells[wanted - 1].replace(",", ""))))
    return rows


def svg(rows: list[tuple[str, float]]) -> str:
    """A horizontal bar chart, widest bar scaled to the width."""
    bar_h, gap, label_w, width = 22, 8, 170, 640
    top = max(value for _, value in rows)
    height = len(rows) * (bar_h + gap) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<text x="{label_w}" y="16" font-weight="bold">requests/s at 50 connections '
        "(one core)</text>",
    ]
    for index, (name, value) in enumerate(rows):
        y = 28 + index * (bar_h + gap)
        length = (width - label_w - 80) * value / top
        color = "#d9534f" if name.startswith("rttp") else "#8a9bb0"
        parts += [
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(name)}</text>',
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" fill="{color}"/>',
            f'<text x="{label_w + length + 6:.1f}" y="{y + 16}">{value:,.0f}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(svg(server_rows(PAGE.read_text())))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
