"""``import reports`` is light and has no side effects: no backend switch, no pyplot."""

import subprocess
import sys
import textwrap

import pytest

import reports


def _run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_import_loads_neither_matplotlib_nor_jinja():
    _run("""
        import sys
        import reports
        heavy = {"matplotlib", "jinja2", "numpy", "pandas", "torch", "xai", "models"}
        assert not heavy & set(sys.modules), heavy & set(sys.modules)
        assert callable(reports.write_report)
        assert "matplotlib" not in sys.modules
        reports.plots.waterfall  # loads on first use
        assert "matplotlib" in sys.modules and "torch" not in sys.modules
    """)


@pytest.mark.parametrize("chosen", [None, "svg"])
def test_importing_and_drawing_keep_the_backend(chosen):
    """A notebook's backend (here a non-Agg one, or whatever was configured) survives importing
    every reports module and rendering figures both ways."""
    _run(f"""
        import sys
        import types
        import matplotlib
        import numpy as np
        chosen = {chosen!r}
        if chosen:
            matplotlib.use(chosen)
        before = dict.__getitem__(matplotlib.rcParams, "backend")
        import reports
        from reports import plots, write_report
        import reports.render, reports.views, reports.figures.attributions as figs
        from reports.figures.base import to_png_uri, to_svg_uri
        from reports.figures.review import review_figure
        from reports.palette import build_palette

        class Ex(types.SimpleNamespace):  # an Attribution's fields, without importing xai
            def __len__(self):
                return len(self.formulation_ids)

        ex = Ex(method="shapley", formulation_ids=("F1",), properties=("ph",),
                ingredients=(("a", "b$_{{c$"),), raw_amounts=(np.array([1.0, 2.0]),),
                values=np.array([[0.5, -0.25]]), prediction=np.array([0.5]),
                baseline=np.array([0.25]))
        ax = plots.waterfall(ex)
        to_svg_uri(ax.figure)
        ax = plots.importance(ex)
        ax.figure.savefig(__import__("io").BytesIO(), format="png")
        to_png_uri(figs.importance_grid({{"ph": {{"ingredients": ["b$_{{c$"], "mean_abs": [0.5]}}}},
                                        build_palette({{}})))
        svg = review_figure(["a", "b$_{{c$"], [0.1, 0.2], [0.5, -0.25], 0.25, 0.5,
                            build_palette({{}}), title="F1 $_{{x$")
        assert ">b$_{{c$<" in svg and ">F1 $_{{x$<" in svg
        after = dict.__getitem__(matplotlib.rcParams, "backend")
        assert after == before, (before, after)
        if chosen:
            assert matplotlib.get_backend() == chosen
        assert "matplotlib.pyplot" not in sys.modules
        assert "torch" not in sys.modules and "xai" not in sys.modules
    """)


def test_dir_lists_the_public_names():
    assert dir(reports) == ["plots", "write_report"]
    with pytest.raises(AttributeError):
        reports.nothing  # noqa: B018
