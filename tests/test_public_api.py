"""The package's public face: sorted, importable names, and everything an entry function
returns or raises exported beside it."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

import coldstart_bench
from coldstart_bench import errors

ENTRY_FUNCTIONS = ("read_scenario", "run_scenario", "read_run")


def test_all_is_sorted_and_names_what_the_modules_define():
    assert coldstart_bench.__all__ == sorted(coldstart_bench.__all__)
    for name in coldstart_bench.__all__:
        value = getattr(coldstart_bench, name)
        if name != "__version__":
            # the object itself, from the module that defines it (not a stand-in)
            assert value.__name__ == name, name
            assert value.__module__.startswith("coldstart_bench."), name


@pytest.mark.parametrize("name", ENTRY_FUNCTIONS)
def test_what_an_entry_function_returns_is_exported(name):
    function = getattr(coldstart_bench, name)
    returned = typing.get_type_hints(function)["return"]
    assert returned.__name__ in coldstart_bench.__all__
    assert getattr(coldstart_bench, returned.__name__) is returned
    for parameter, hint in typing.get_type_hints(function).items():
        for kind in typing.get_args(hint) or (hint,):
            if getattr(kind, "__module__", "").startswith("coldstart_bench."):
                assert kind.__name__ in coldstart_bench.__all__, (parameter, kind)


def test_every_error_the_api_raises_is_exported():
    raised = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.ColdstartError)
    ]
    raised.append(coldstart_bench.SetupError)
    for error in raised:
        if error is errors.GateInputError:
            continue  # raised by gate and compare, which the Python API does not offer
        assert error.__name__ in coldstart_bench.__all__, error


def test_unknown_attributes_raise_attribute_error():
    with pytest.raises(AttributeError, match="nope"):
        coldstart_bench.nope  # noqa: B018


def test_importing_the_package_imports_nothing_heavy():
    code = (
        "import sys, coldstart_bench\n"
        "heavy = [m for m in ('pandas', 'numpy', 'pydantic', 'httpx', 'scipy') if m in sys.modules]\n"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
