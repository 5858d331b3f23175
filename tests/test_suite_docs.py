"""docs/suites.md against the suite validator: every documented key is accepted, every accepted key is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codecbench.run.suite import SuiteError, parse_suite

DOC = Path(__file__).resolve().parents[1] / "docs" / "suites.md"
BASE = {"suite": {"targets": [0.5]}, "datasets": [{"name": "embedded"}], "codecs": [{"name": "jpeg"}]}


def documented() -> dict[str, set[str]]:
    """Keys in the first column of each section's table, by section ('suite', 'datasets', ...)."""
    out: dict[str, set[str]] = {}
    section = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"## `\[+(\w+)\]+`", line)
        if m:
            section = m.group(1)
            out[section] = set()
        elif line.startswith("## "):
            section = None
        elif section and line.startswith("| `"):
            out[section].add(re.match(r"\| `(\w+)`", line).group(1))
    return out


def accepted(section: str) -> set[str]:
    """The keys the validator allows in a section, read from its unknown-key error."""
    doc = {k: (v if not isinstance(v, list) else [dict(x) for x in v]) for k, v in BASE.items()}
    if section in ("datasets", "codecs"):
        doc[section][0]["no_such_key"] = 1
    elif section == "segmenter":
        doc["segmenter"] = {"name": "espnet", "no_such_key": 1}
    else:
        doc[section] = {**doc[section], "no_such_key": 1}
    with pytest.raises(SuiteError, match="unknown key") as exc:
        parse_suite(doc)
    return set(re.search(r"allowed keys here are (.*)$", str(exc.value)).group(1).split(", "))


@pytest.mark.parametrize("section", ["suite", "datasets", "codecs", "segmenter"])
def test_docs_list_exactly_the_keys_the_validator_accepts(section):
    assert documented()[section] == accepted(section)


def test_docs_cover_every_section_and_metric():
    from codecbench.metrics.fidelity import KNOWN_METRICS

    assert set(documented()) == {"suite", "datasets", "codecs", "segmenter", "executor"}
    text = DOC.read_text(encoding="utf-8")
    assert all(f"`{m}`" in text for m in KNOWN_METRICS)


def test_readme_points_to_the_suite_docs_and_lists_every_command():
    from codecbench.cli.main import build_parser

    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "docs/suites.md" in readme
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in sub.choices if f"`codecbench {name}" not in table]
    assert missing == [], f"README command table lacks {missing}"


def test_readme_gives_the_cpu_only_torch_install_for_stock_pypi():
    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in readme


def test_automotive_suite_comment_matches_the_committed_full_split():
    text = (DOC.parents[1] / "codecbench" / "suites" / "automotive-camvid.toml").read_text(encoding="utf-8")
    comments = " ".join(line for line in text.splitlines() if line.lstrip().startswith("#")).lower()
    assert "committed run used a documented subset" not in comments  # the stale claim of issue 17
    assert "so did the committed run (all 233 frames" in comments
