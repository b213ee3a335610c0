"""The report's figures: each takes plain numbers and returns a
:class:`matplotlib.figure.Figure` (never pyplot's current figure); :mod:`reports.figures.base`
turns figures into data URIs, :mod:`reports.figures.draw` holds the Axes-level drawing they share
with :mod:`reports.plots`."""

from reports.figures.base import new_figure, to_png_uri, to_svg_uri

__all__ = ["new_figure", "to_png_uri", "to_svg_uri"]
