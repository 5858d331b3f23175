"""One exception root: every codecbench exception is a CodecbenchError, and `codecbench` reports one once, in one
line with exit status 2 (no traceback, no quote stripping)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import codecbench
from codecbench.cli.main import main
from codecbench.errors import CodecbenchError, UnknownName


def _exception_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(codecbench.__path__, "codecbench."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Exception) and not issubclass(obj, Warning) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_every_codecbench_exception_derives_from_the_root():
    classes = _exception_classes()
    assert len(classes) >= 17  # the 17 of issue 10, and the few added with the root
    strays = [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, CodecbenchError)]
    assert not strays, strays


def test_unknown_name_needs_no_quote_stripping():
    err = UnknownName("unknown codec 'nope'; known codecs: jpeg")
    assert str(err) == "unknown codec 'nope'; known codecs: jpeg"
    assert isinstance(err, KeyError) and isinstance(err, ValueError)


@pytest.mark.parametrize("argv, names", [
    (["run", "no-such-suite"], "suite 'no-such-suite' not found"),
    (["table", "no-such-folder/store.sqlite"], "no-such-folder/store.sqlite: no result store here"),
    (["check", "no-such-folder", "--baseline", "b.json", "--tol", "psnr"], "tolerance 'psnr'"),
])
def test_main_prints_one_line_naming_the_problem_and_exits_2(argv, names, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"codecbench {argv[0]}: ") and names in err
    assert "Traceback" not in err
