"""The Government Analysis Function chart style, as settings (no matplotlib import here).

Colours: the Analysis Function accessible categorical palette. A single series uses the first
colour (dark blue); series beyond the first take the next colours in order. Text is near-black
on white, secondary text dark grey (contrast above 7:1), grid lines light grey.
"""

from __future__ import annotations

# Analysis Function accessible categorical palette, in order.
CATEGORICAL = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
SINGLE_SERIES = CATEGORICAL[0]

TEXT = "#0B0C0C"
SECONDARY_TEXT = "#505A5F"
AXIS = "#505A5F"
GRID = "#D9D9D9"
BACKGROUND = "#FFFFFF"

FONT_FAMILY = ["Arial", "Liberation Sans", "Helvetica", "DejaVu Sans"]

# Sizes in points. An 8-inch figure shown at its natural size (768 CSS pixels) keeps 11pt
# labels at about 15 CSS pixels: readable at 100 % zoom.
TITLE_SIZE = 15
SUBTITLE_SIZE = 12
LABEL_SIZE = 11
DATA_LABEL_SIZE = 11
NOTE_SIZE = 10

FIGURE_WIDTH_IN = 8.0
EDGE_PAD_IN = 0.15
MAX_CATEGORY_LABEL_IN = 2.6  # horizontal bars: wrap category labels to this width
BAR_SLOT_IN = 0.40  # height of one category (single series, one line of label)
GROUP_SLOT_IN = 0.62  # height of one category with two series
LINE_IN_PER_PT = 1.25 / 72  # line height per point of font size

SVG_HASHSALT = "iom-publication"


def rc_params() -> dict:
    """matplotlib rcParams for every publication figure (applied with rc_context)."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": FONT_FAMILY,
        "font.size": LABEL_SIZE,
        "text.color": TEXT,
        "axes.edgecolor": AXIS,
        "axes.labelcolor": TEXT,
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.facecolor": BACKGROUND,
        "figure.facecolor": BACKGROUND,
        "xtick.color": AXIS,
        "ytick.color": AXIS,
        "xtick.labelcolor": TEXT,
        "ytick.labelcolor": TEXT,
        "grid.color": GRID,
        "grid.linewidth": 0.8,
        "svg.fonttype": "none",  # text stays text: searchable, selectable, screen-readable
        "svg.hashsalt": SVG_HASHSALT,  # stable ids, so reruns are byte-identical
        "path.simplify": False,
        "text.usetex": False,
    }
