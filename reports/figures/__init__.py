"""The report's figures: each takes plain numbers and returns a
:class:`matplotlib.figure.Figure` (never pyplot's current figure); :mod:`reports.figures.base`
turns figures into data URIs, :mod:`reports.figures.draw` holds the Axes-level drawing they share
with :mod:`reports.plots`. The review pages' figure, drawn dozens of times per report, is
written as SVG directly instead (:mod:`reports.figures.review`, :mod:`reports.figures.svg`)."""

from reports.figures.base import new_figure, to_png_uri, to_svg_markup, to_svg_uri

__all__ = ["new_figure", "to_png_uri", "to_svg_markup", "to_svg_uri"]
