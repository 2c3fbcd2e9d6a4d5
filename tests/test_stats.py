import pytest

from coldstart_bench.stats import median, percentile


def test_median_of_odd_and_even_counts():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5


def test_percentile_interpolates_between_ranks_like_numpy():
    # numpy.percentile([10, 20, 30, 40, 50], 95) == 48.0
    assert percentile([50, 10, 40, 20, 30], 95) == pytest.approx(48.0)
    assert percentile([10, 20, 30, 40, 50], 0) == 10
    assert percentile([10, 20, 30, 40, 50], 100) == 50


def test_missing_values_are_ignored_and_nothing_gives_none():
    assert median([None, 5.0, None]) == 5.0
    assert median([]) is None
    assert percentile([None], 95) is None


def test_q_outside_0_100_is_an_error():
    with pytest.raises(ValueError):
        percentile([1], 101)
