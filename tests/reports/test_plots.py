"""Plots of result objects: each draws on the Axes it is given, titles itself with the case
header, and survives names that matplotlib or HTML would otherwise interpret."""

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports import plots
from xai.attention.maps import PROPERTY_TOKEN, AttentionMaps
from xai.attribution.interactions import Interactions
from xai.attribution.results import Attribution
from xai.representation.embeddings import embedding_geometry

BROKEN_MATH = "oil a$_{b$"  # invalid mathtext: stops a drawing unless escaped
DOLLARS = "gum $5 or $6"
MARKUP = "<b>salt</b> & co"
NAMES = (("water", BROKEN_MATH, MARKUP), ("water", DOLLARS), (MARKUP, "water", DOLLARS, "wax"))
IDS = ("F1", "F<2>", "F$3")
PROPS = ("ph", "ph", "viscosity $4pin$")


@pytest.fixture
def attribution():
    values = np.full((3, 4), np.nan)
    values[0, :3] = [0.5, -0.2, 0.1]
    values[1, 1] = 0.3  # slot 0 (water) is the balance ingredient: not a player
    values[2, :4] = [0.05, -0.4, 0.2, 0.01]
    baseline = np.array([0.1, -0.2, 0.3])
    amounts = tuple(np.linspace(1.0, 2.0, len(n)) for n in NAMES)
    return Attribution(method="shapley", absence="balance", formulation_ids=IDS,
                       properties=PROPS, ingredients=NAMES, raw_amounts=amounts, values=values,
                       prediction=baseline + np.nansum(values, axis=1), baseline=baseline)


@pytest.fixture
def interactions():
    values = np.full((3, 4, 4), np.nan)
    rng = np.random.default_rng(0)
    for i, n in ((0, 3), (2, 4)):  # case 1 was not enumerated
        block = rng.normal(size=(n, n))
        values[i, :n, :n] = block + block.T
    return Interactions(formulation_ids=IDS, properties=PROPS, ingredients=NAMES, values=values)


@pytest.fixture
def attention_maps():
    rng = np.random.default_rng(1)
    n_layers, n_heads, width = 2, 2, 5
    weights = np.zeros((3, n_layers, n_heads, width, width))
    mask = np.zeros((3, width), dtype=bool)
    for i, names in enumerate(NAMES):
        s = len(names) + 1
        raw = rng.random((n_layers, n_heads, s, s))
        weights[i, :, :, :s, :s] = raw / raw.sum(-1, keepdims=True)
        mask[i, :s] = True
    return AttentionMaps(formulation_ids=IDS, properties=PROPS,
                         ingredients=tuple(tuple(n) for n in NAMES), weights=weights,
                         mask=mask)


@pytest.fixture
def geometry():
    names = ("water", BROKEN_MATH, MARKUP, DOLLARS, "wax")
    vectors = np.random.default_rng(2).normal(size=(5, 3))
    return embedding_geometry(vectors, names, seed=0, layout=None,
                              counts=np.array([10, 2, 10, 10, 1]))


def _axes():
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def _render(ax):
    """Render the Axes' figure to PNG and SVG; the SVG must be well-formed XML."""
    ax.figure.savefig(io.BytesIO(), format="png")
    svg = io.BytesIO()
    ax.figure.savefig(svg, format="svg")
    ET.fromstring(svg.getvalue())
    return svg.getvalue().decode()


def _texts(ax):
    """Every string matplotlib will show on the Axes, as displayed (``\\$`` shown as ``$``)."""
    texts = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    texts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    texts += [t.get_text() for t in ax.texts]
    return [t.replace(r"\$", "$") for t in texts]


@pytest.mark.parametrize("case", [0, 2, -1])
def test_waterfall_draws_one_case_on_the_given_axes(attribution, case):
    ax = _axes()
    assert plots.waterfall(attribution, case=case, ax=ax) is ax
    i = case % 3
    assert f"{IDS[i]} \u2013 {PROPS[i]}" in _texts(ax)[0]
    players = np.isfinite(attribution.values[i]).sum()
    assert len(ax.patches) == players + 2  # f(no ingredient), one step each, f(recipe)
    labels = _texts(ax)
    assert any(label.startswith("f(no ingredient)") for label in labels)
    shown = [n for n, v in zip(NAMES[i], attribution.values[i], strict=False) if np.isfinite(v)]
    assert all(name in labels for name in shown)
    svg = _render(ax)
    assert "&lt;b&gt;salt&lt;/b&gt;" in svg or i == 1


def test_waterfall_sorts_by_magnitude_and_pools_the_rest(attribution):
    ax = plots.waterfall(attribution, case=2, top=2)
    labels = [t.get_text().replace(r"\$", "$") for t in ax.get_yticklabels()]
    assert labels[1:4] == ["water", DOLLARS, "2 others"]
    widths = [p.get_width() for p in ax.patches]
    assert widths[1:4] == pytest.approx([-0.4, 0.2, 0.06])
    assert widths[-1] == pytest.approx(attribution.prediction[2])
    _render(ax)


def test_a_case_out_of_range_is_an_index_error(attribution):
    with pytest.raises(IndexError, match="case 3 out of range"):
        plots.waterfall(attribution, case=3)


def test_waterfall_without_ax_makes_its_own_figure(attribution):
    ax = plots.waterfall(attribution)
    assert isinstance(ax.figure, Figure)
    assert isinstance(ax.figure.canvas, FigureCanvasAgg)
    _render(ax)


def test_importance_pools_properties_or_names_the_one(attribution):
    ax = _axes()
    assert plots.importance(attribution, ax=ax) is ax
    labels = [t.get_text().replace(r"\$", "$") for t in ax.get_yticklabels()]
    # mean |value| over the cases holding each ingredient as a player
    expected = {"water": (0.5 + 0.4) / 2, BROKEN_MATH: 0.2, MARKUP: (0.1 + 0.05) / 2,
                DOLLARS: (0.3 + 0.2) / 2, "wax": 0.01}
    assert labels == sorted(expected, key=lambda n: (-expected[n], n))
    assert [p.get_width() for p in ax.patches] == pytest.approx(
        [expected[n] for n in labels])
    assert "2 properties pooled" in ax.get_title()
    _render(ax)

    one = Attribution(**{**attribution.__dict__, "properties": ("ph", "ph", "ph")})
    ax = plots.importance(one, top=2)
    assert ax.get_title().startswith("ph:") and len(ax.patches) == 2
    _render(ax)


def test_dependence_plots_attribution_against_amount(attribution):
    ax = _axes()
    assert plots.dependence(attribution, DOLLARS, ax=ax) is ax
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert sorted(points[:, 1].tolist()) == pytest.approx([0.2, 0.3])
    assert sorted(points[:, 0].tolist()) == pytest.approx([1 + 2 / 3, 2.0])
    assert DOLLARS in _texts(ax)[0]
    assert ax.get_legend() is not None  # two properties
    _render(ax)
    with pytest.raises(ValueError, match="no case holds"):
        plots.dependence(attribution, "absent")


def test_interactions_heatmap_of_one_case(interactions):
    ax = _axes()
    assert plots.interactions(interactions, case=2, ax=ax) is ax
    assert f"{IDS[2]} \u2013 {PROPS[2]}" in _texts(ax)[0]
    (image,) = ax.images
    shown = np.ma.getdata(image.get_array())
    block = interactions.values[2]
    assert shown.shape == (4, 4)
    assert shown[0, 1] == pytest.approx(block[0, 1] + block[1, 0])
    assert np.ma.getmaskarray(image.get_array()).diagonal().all()
    low, high = image.get_clim()
    assert low == pytest.approx(-high)
    labels = [t.get_text().replace(r"\$", "$") for t in ax.get_xticklabels()]
    assert labels == list(NAMES[2])
    _render(ax)


def test_interactions_of_a_case_not_enumerated_say_so(interactions):
    ax = plots.interactions(interactions, case=1)
    assert not ax.images
    assert "no interaction values" in ax.texts[0].get_text()
    _render(ax)


@pytest.mark.parametrize("layer, head", [(-1, None), (0, 1)])
def test_attention_map_with_fitted_colour_scale(attention_maps, layer, head):
    ax = _axes()
    assert plots.attention(attention_maps, case=2, layer=layer, head=head, ax=ax) is ax
    (image,) = ax.images
    s = len(NAMES[2]) + 1
    w = attention_maps.weights[2, layer]
    expected = w[:, :s, :s].mean(0) if head is None else w[head, :s, :s]
    assert np.asarray(image.get_array()) == pytest.approx(expected)
    assert image.get_clim() == pytest.approx((expected.min(), expected.max()))
    labels = [t.get_text().replace(r"\$", "$") for t in ax.get_yticklabels()]
    assert labels == [PROPERTY_TOKEN, *NAMES[2]]
    title = _texts(ax)[0]
    assert f"{IDS[2]} \u2013 {PROPS[2]}" in title
    assert f"layer {layer % 2 + 1} of 2" in title
    _render(ax)
    with pytest.raises(IndexError, match="layer"):
        plots.attention(attention_maps, layer=2)


def test_distances_in_dendrogram_order(geometry):
    ax = _axes()
    assert plots.distances(geometry, ax=ax) is ax
    order = geometry.hierarchy.leaf_order
    (image,) = ax.images
    assert np.asarray(image.get_array()) == pytest.approx(geometry.cosine[np.ix_(order, order)])
    labels = [t.get_text().replace(r"\$", "$") for t in ax.get_xticklabels()]
    assert labels == [geometry.names[k] for k in order]
    assert "cosine" in ax.get_title()
    _render(ax)
    ax = plots.distances(geometry, metric="l2", label_limit=3)
    assert not [t for t in ax.get_xticklabels() if t.get_text()]
    _render(ax)


def test_one_case_results_plot_like_case_positions(attribution):
    """``waterfall(ex[i])`` and ``waterfall(ex, case=i)`` agree; built here from the fields
    so it holds with or without the results' ``__getitem__``."""
    fields = attribution.__dict__
    one = Attribution(**{
        **fields, "formulation_ids": IDS[2:], "properties": PROPS[2:], "ingredients": NAMES[2:],
        "raw_amounts": fields["raw_amounts"][2:], "values": fields["values"][2:],
        "prediction": fields["prediction"][2:], "baseline": fields["baseline"][2:]})
    a, b = plots.waterfall(attribution, case=2), plots.waterfall(one)
    assert a.get_title() == b.get_title()
    assert [p.get_width() for p in a.patches] == [p.get_width() for p in b.patches]
