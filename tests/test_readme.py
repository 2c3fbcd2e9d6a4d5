"""The README's scenario reference must stay a valid scenario."""

import re

from helpers import REPO

from coldstart_bench.scenario.load import parse_scenario


def test_the_full_scenario_example_in_the_readme_is_valid():
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    example = next(b for b in blocks if "[[services.when]]" in b)
    loaded = parse_scenario(example, source="README.md")
    assert len(loaded.variants) == 12  # 2 × 2 × 2 × 2 minus the four with tls=on,pooling=off
    assert loaded.scenario.setup == [["make-model", "--out", "{model_dir}"]]
    assert loaded.scenario.requires[0].levels == {"device": ("cuda",)}
    assert loaded.scenario.prepare == [["sync"]]
