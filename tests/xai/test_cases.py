"""Cases: length chunks that keep padding small."""

import numpy as np

from xai.cases import length_chunks


def test_length_chunks_sort_by_length():
    lengths = np.array([5, 1, 3, 2, 4])
    chunks = length_chunks(lengths, np.array([0, 1, 2, 4]), 3)
    assert [c.tolist() for c in chunks] == [[1, 2, 4], [0]]


def test_length_chunks_keep_long_recipes_from_padding_short_ones():
    lengths = np.array([4] * 100 + [5] * 10 + [30] * 10)
    chunks = length_chunks(lengths, np.arange(len(lengths)), 1000, max_padding=0.3, min_size=8)
    assert [len(c) for c in chunks] == [110, 10]  # 4s padded to 5 is within 30%; 30s apart
    for c in chunks:
        longest, tokens = lengths[c].max(), lengths[c].sum()
        assert longest * len(c) <= 1.3 * tokens
    assert sorted(np.concatenate(chunks).tolist()) == list(range(len(lengths)))
    # below min_size nothing is cut for padding
    assert len(length_chunks(lengths[95:], np.arange(18), 1000, min_size=64)) == 1


def test_case_pairs_list_what_make_cases_encodes(tiny_model, tiny_dataset):
    """The pairs, their order and their mean measured values are make_cases', so a caller can
    choose among pairs and encode only those; a pair measured twice has the mean of both."""
    from xai.cases import case_pairs, make_cases

    ids = list(tiny_model.split.test)[:15]
    pairs = case_pairs(tiny_model, tiny_dataset, ids)
    cases = make_cases(tiny_model, tiny_dataset, ids)
    assert list(pairs["formulation_id"]) == list(cases.formulation_ids)
    assert list(pairs["property"]) == list(cases.properties)
    np.testing.assert_array_equal(pairs["measured"].to_numpy(), cases.measured)
    m = tiny_dataset.measurements
    for f, p, value in pairs.itertuples(index=False):
        assert value == m[(m["formulation_id"] == f) & (m["property"] == p)]["value"].mean()
    # with properties, unmeasured pairs are NaN
    every = case_pairs(tiny_model, tiny_dataset, ids[:3], properties=tiny_model.properties)
    assert len(every) == 3 * len(tiny_model.properties)
    measured = set(zip(m["formulation_id"], m["property"], strict=True))
    for f, p, value in every.itertuples(index=False):
        assert np.isnan(value) == ((f, p) not in measured)
