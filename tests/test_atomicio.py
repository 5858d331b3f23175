"""codecbench.atomicio: replace-or-nothing writes (D5)."""

import os

import pytest

from codecbench.atomicio import atomic_savefig, atomic_write_bytes, atomic_write_text, remove_stale_temps


def test_write_text_and_bytes_replace(tmp_path):
    p = tmp_path / "table.md"
    atomic_write_text(p, "a\r\nb\n")
    assert p.read_bytes() == b"a\r\nb\n"
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new"
    assert [x.name for x in tmp_path.iterdir()] == ["table.md"]


class Boom(Exception):
    pass


def test_failure_keeps_previous_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "rd.png"
    atomic_write_bytes(p, b"good")

    class Fig:
        def savefig(self, fh, **kw):
            fh.write(b"partial")
            raise Boom("disk full")

    with pytest.raises(Boom):
        atomic_savefig(Fig(), p)
    assert p.read_bytes() == b"good"
    assert [x.name for x in tmp_path.iterdir()] == ["rd.png"]


def test_savefig_real_matplotlib_format_from_suffix(tmp_path):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    atomic_savefig(fig, tmp_path / "a.png", dpi=30)
    atomic_savefig(fig, tmp_path / "a.svg", metadata={"Date": None})
    plt.close(fig)
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()


def test_read_only_folder_raises_and_leaves_nothing(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            atomic_write_text(d / "x.md", "x")
    finally:
        d.chmod(0o700)


def test_remove_stale_temps(tmp_path):
    (tmp_path / ".rd.png.abc123.tmp").write_bytes(b"x")
    (tmp_path / "keep.tmp").write_bytes(b"x")
    removed = remove_stale_temps(tmp_path)
    assert [p.name for p in removed] == [".rd.png.abc123.tmp"]
    assert (tmp_path / "keep.tmp").exists()
