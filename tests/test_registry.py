"""Registry: built-ins, entry-point plugins (tests/plugin_example), broken modules reported rather
than fatal, and `codecbench list` in text and JSON."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, distribution

import numpy as np
import pytest

from codecbench.cli.main import main
from codecbench.codecs import registry

BUILTINS = ("jpeg", "webp", "avif", "jpeg2000", "heic", "jpegxl", "bpg")


@pytest.fixture
def fresh_registry():
    registry.specs(refresh=True)
    yield registry
    registry.specs(refresh=True)


def _plugin_installed() -> bool:
    try:
        distribution("codecbench-example-plugin")
        return True
    except PackageNotFoundError:
        return False


needs_plugin = pytest.mark.skipif(
    not _plugin_installed(),
    reason="example plugin not installed: pip install -e tests/plugin_example",
)


def test_builtins_registered(fresh_registry):
    names = set(registry.specs())
    assert set(BUILTINS) <= names
    with pytest.raises(KeyError, match="known codecs"):
        registry.get("no-such-codec")
    with pytest.raises(ValueError, match="unknown setting"):
        registry.create("jpeg", colour="blue")


@needs_plugin
def test_example_plugin_via_entry_point(fresh_registry, photo):
    assert "downpng" in registry.specs()
    codec = registry.create("downpng")
    assert codec.spec.knob.increases_rate is False
    img = photo[:100, :90].copy()
    small, big = codec.encode(img, 4), codec.encode(img, 1)
    assert len(small) < len(big)
    assert np.array_equal(codec.decode(big), img)  # factor 1 is lossless PNG
    assert codec.decode(small).shape == img.shape


def test_broken_builtin_reported_not_fatal(fresh_registry, monkeypatch):
    monkeypatch.setitem(registry.BUILTIN, "ghost", "codecbench.codecs.no_such_module:SPEC")
    specs = registry.specs(refresh=True)
    assert "jpeg" in specs and "ghost" in specs
    row = next(r for r in registry.describe_all() if r["name"] == "ghost")
    assert row["available"] is False and "no_such_module" in row["reason"]
    with pytest.raises(registry.CodecUnavailable, match="no_such_module"):
        registry.create("ghost")


def test_list_json(fresh_registry, capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in rows}
    assert set(BUILTINS) <= set(by_name)
    for r in rows:
        assert {"name", "available", "version", "reason"} <= set(r)
        assert (r["reason"] is None) == r["available"]
    assert by_name["jpeg"]["available"] and "libjpeg" in by_name["jpeg"]["version"]
    if _plugin_installed():
        assert by_name["downpng"]["available"]


def test_list_text_explains_unavailable(fresh_registry, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CODECBENCH_CACHE", str(tmp_path / "cache"))  # no cached libbpg build either
    monkeypatch.delenv("CODECBENCH_BPGENC", raising=False)
    monkeypatch.delenv("CODECBENCH_BPGDEC", raising=False)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "jpeg2000" in out and "OpenJPEG" in out
    bpg_block = out[out.index("\nbpg ") :]
    assert "UNAVAILABLE" in bpg_block.splitlines()[1]
    assert "bpgenc not found on PATH; " in bpg_block and "CODECBENCH_BPGENC" in bpg_block
