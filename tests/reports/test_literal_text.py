"""Names are data: a ``$`` in an ingredient or property name is drawn as written, never parsed
as TeX, while a log axis keeps its 10^k tick labels."""

import base64
import re

import numpy as np

from reports.figures.base import new_figure, to_png_uri, to_svg_uri

NAMES = ["price $5", "$x$", r"a\$b$c", "$\\frac{", "plain"]


def _svg_text(uri: str) -> str:
    return base64.b64decode(uri.split(",", 1)[1]).decode()


def _figure():
    fig = new_figure()
    ax = fig.add_subplot()
    ax.barh(range(len(NAMES)), np.arange(1, len(NAMES) + 1), label="$y$ legend")
    ax.set_yticks(range(len(NAMES)), NAMES)
    ax.set_title("title of $x$ and $\\alpha")
    ax.set_xlabel("$$")
    ax.annotate("$note$", (1, 1))
    ax.legend()
    ax.set_xscale("log")
    return fig


def test_dollar_names_are_drawn_as_written_and_log_ticks_still_render():
    text = _svg_text(to_svg_uri(_figure()))
    shown = set(re.findall(r"<text[^>]*>([^<]+)</text>", text))
    for name in [*NAMES, "title of $x$ and $\\alpha", "$note$", "$y$ legend", "$$"]:
        assert name in shown, name
    assert "<!-- $\\mathdefault{10^{0}}$ -->" in text  # the log axis's ticks are typeset
    assert not any("mathdefault" in s for s in shown)


def test_categorical_axes_and_png_do_not_parse_names():
    fig = new_figure()
    ax = fig.add_subplot()
    ax.bar(NAMES, [1, 2, 3, 4, 5])
    shown = re.findall(r"<text[^>]*>([^<]+)</text>", _svg_text(to_svg_uri(fig)))
    assert set(NAMES) <= set(shown)
    fig = _figure()
    assert to_png_uri(fig).startswith("data:image/png;base64,")
