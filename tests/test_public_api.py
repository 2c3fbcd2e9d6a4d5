"""The package's public names stay sorted, documented and importable."""

import coldstart_bench


def test_all_is_sorted_and_every_name_resolves():
    assert coldstart_bench.__all__ == sorted(coldstart_bench.__all__)
    for name in coldstart_bench.__all__:
        assert getattr(coldstart_bench, name) is not None


def test_unknown_attributes_raise_attribute_error():
    try:
        coldstart_bench.nope  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
