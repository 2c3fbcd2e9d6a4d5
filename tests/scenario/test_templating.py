import pytest

from coldstart_bench.scenario.templating import UnknownVariable, render, variables_in


def test_placeholders_are_replaced():
    assert (
        render("--port {port} --dev {device}", {"port": "8000", "device": "cpu"})
        == "--port 8000 --dev cpu"
    )


def test_dotted_names_reach_other_services_ports():
    assert (
        render("http://127.0.0.1:{ports.redis}", {"ports.redis": "6379"}) == "http://127.0.0.1:6379"
    )


def test_json_and_python_braces_pass_through():
    text = 'python -c "print({})" --body {"a": 1}'
    assert render(text, {}) == text
    assert variables_in(text) == []


def test_doubled_braces_write_literal_braces():
    assert render("{{port}} is {port}", {"port": "1"}) == "{port} is 1"


def test_unknown_variable_suggests_the_nearest_name():
    with pytest.raises(UnknownVariable) as info:
        render("{prot}", {"port": "1", "python": "py"})
    assert info.value.describe() == "unknown template variable {prot}; did you mean {port}?"
