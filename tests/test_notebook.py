"""The results notebook executes (nbclient, kernel python3) against a small store, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecbench.run.point_keys import target_key
from codecbench.run.store import Store

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "results.ipynb"


def test_results_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    with Store(tmp_path / "store") as s:
        for codec, shift in (("jpeg", 0.0), ("webp", 1.5)):
            for i, t in enumerate((0.25, 0.5, 1.0)):
                for img in range(2):
                    s.put({"image_hash": f"h{img}", "codec_key": codec, "target": target_key(t), "status": "ok",
                           "codec": codec, "label": codec, "target_bpp": t, "bpp": t * 0.95, "dataset": "d",
                           "image_id": f"i{img}",
                           "metrics": {"psnr": 28 + 3 * i + shift + img, "ssim": 0.8 + 0.05 * i,
                                       "ms_ssim": 0.9 + 0.02 * i + shift / 100}})
    monkeypatch.setenv("CODECBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("CODECBENCH_NOTEBOOK_OUT", str(tmp_path / "nbout"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/markdown", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "12 points" in text and "| webp | 0.25 | 2 |" in text and "BD vs **jpeg**" in text
    assert (tmp_path / "nbout" / "notebook_rd.png").is_file()
