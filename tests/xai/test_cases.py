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
