"""Point identity vs provenance: model ids in the key, a worker that refuses a key it did not plan, the runs
table, and the in-place migration of a committed schema-1 store (on a copy)."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from codecbench.codecs import registry
from codecbench.codecs.spec import CodecSpec
from codecbench.report import reports
from codecbench.run import worker_cache
from codecbench.run.jobs import execute_job
from codecbench.run.point_keys import codec_key_of
from codecbench.run.runner import plan_suite, run_suite
from codecbench.run.store import Store, StoreError
from codecbench.run.store_schema import SCHEMA_VERSION
from codecbench.run.suite import parse_suite

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("photo")
    Image.fromarray(np.ascontiguousarray(data.astronaut()[100:164, 150:230])).save(folder / "a.png")
    return folder


def _suite(photo_dir, codecs, targets=(0.5,)):
    return parse_suite({"suite": {"name": "id", "targets": list(targets), "metrics": ["psnr"], "workers": 1},
                        "datasets": [{"name": "folder", "root": str(photo_dir)}], "codecs": codecs})


def _quiet(s, store, **kw):
    return run_suite(s, store=store, progress=False, log=lambda _: None, **kw)


def _export_tiny(path: Path, seed: int) -> str:
    from codecbench.codecs.gan.checkpoint import export_model
    from codecbench.codecs.gan.model import Autoencoder

    torch.manual_seed(seed)
    return export_model(Autoencoder(0.05, 8, 4).eval(), path, {"quant_mode": "ste"})


def test_reexported_gan_checkpoint_gets_new_points_and_the_old_ones_are_kept_apart(photo_dir, tmp_path):
    ckpt = tmp_path / "ckpt" / "tiny.safetensors"
    first = _export_tiny(ckpt, seed=0)
    gan = {"name": "gan", "label": "GAN tiny", "settings": {"checkpoint": str(ckpt), "device": "cpu"}}
    s = _suite(photo_dir, [gan])
    assert _quiet(s, tmp_path / "out").computed == 1
    assert _quiet(s, tmp_path / "out").computed == 0  # same model: nothing to do

    second = _export_tiny(ckpt, seed=1)  # re-exported under the same path, new weights
    assert second != first
    again = _quiet(s, tmp_path / "out")
    assert (again.planned, again.already, again.computed, again.ok) == (1, 0, 1, 1)
    with Store(tmp_path / "out", read_only=True) as db:
        every = list(db.records(superseded=True))
        shown = list(db.records())
    assert sorted(r["codec_key"].rsplit("#model=", 1)[1] for r in every) == sorted([first, second])
    assert [r["details"]["model_id"] for r in shown] == [second]  # the old model's point is kept, not shown
    assert all(str(ckpt) not in r["codec_key"] for r in every)  # the path is provenance, not identity
    assert all(r["provenance"]["checkpoint_path"] == str(ckpt) for r in every)
    pts = reports.load_points(tmp_path / "out")
    assert len(pts) == 1 and pts["codec"].tolist() == ["GAN tiny"]


def _versioned(version: str) -> CodecSpec:
    jpeg = registry.get("jpeg")
    return dataclasses.replace(jpeg, name="jpeg_versioned", version=lambda: version)


def test_a_worker_whose_codec_version_differs_from_the_planners_refuses_to_store(photo_dir, tmp_path):
    registry.register("jpeg_versioned", _versioned("1.0"), replace=True)
    try:
        s = _suite(photo_dir, [{"name": "jpeg_versioned"}])
        plan = plan_suite(s, log=lambda _: None)
        (job,) = plan.jobs
        assert "jpeg_versioned@1.0" in job.codec_key
        registry.register("jpeg_versioned", _versioned("2.0"), replace=True)  # the worker has another version
        worker_cache.clear_caches()
        rec = execute_job(job)
        assert rec.status == "error" and rec.error.startswith("KeyMismatch")
        assert "'2.0'" in rec.error and "jpeg_versioned@1.0" in rec.error  # both versions named
        assert rec.bpp is None and rec.metrics == {}  # nothing was measured
        with Store(tmp_path / "s") as db:
            db.put(rec)
            assert db.count("ok") == 0 and db.done_keys() == set()  # never counted as done: retried later
    finally:
        registry.REGISTRY.unregister("jpeg_versioned")
        worker_cache.clear_caches()


def test_key_holds_identity_only():
    jpeg = registry.create("jpeg")
    desc = jpeg.describe()
    settings = '{"optimize":true,"progressive":false,"subsampling":"4:2:0"}'
    assert codec_key_of(desc) == f"jpeg@{desc['version']}{settings}"
    j2k_spec = registry.get("jpeg2000")
    if j2k_spec.unavailable(dict(j2k_spec.defaults)) is None:
        d = registry.create("jpeg2000").describe()
        assert "[" not in codec_key_of(d) and ".so" not in codec_key_of(d)
        assert d["provenance"]["openjp2"]
    gan = registry.get("gan")
    assert set(gan.keyless) == {"checkpoint", "device"}


def test_runs_table_records_the_environment(photo_dir, tmp_path):
    _quiet(_suite(photo_dir, [{"name": "jpeg"}]), tmp_path)
    with Store(tmp_path, read_only=True) as db:
        (run,) = db.runs()
        assert db.schema_version == SCHEMA_VERSION
    assert run["started"] and run["finished"] and run["suite"] == "id" and isinstance(run["argv"], list)
    v = run["versions"]
    assert {"python", "torch", "numpy", "pillow", "codecs"} <= set(v)
    assert "libjpeg" in v["codecs"]["jpeg"]["version"]
    assert run["summary"]["computed"] == 1
    assert "git_describe" in run  # None outside a checkout


# A frozen schema-1 store: the committed results/kodak/store.sqlite as of 56c5e50 (before rerunning the Kodak suite
# migrated it), cut to kodim01–03 (105 points, 15 of them JPEG 2000 points keyed with the library file name).
# A committed results store cannot serve here: the next run of its suite migrates it, and this test would skip.
COMMITTED = ROOT / "tests" / "data" / "kodak_store_schema1.sqlite"


@pytest.mark.skipif(not COMMITTED.is_file(), reason="tests/data/kodak_store_schema1.sqlite not present")
def test_migration_of_a_committed_schema_1_store_in_place_on_a_copy(tmp_path):
    copy = tmp_path / "store.sqlite"
    shutil.copyfile(COMMITTED, copy)
    con = sqlite3.connect(copy)
    (old_version,) = con.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
    old_rows = con.execute("SELECT count(*) FROM points").fetchone()[0]
    old_j2k = con.execute("SELECT count(*) FROM points WHERE codec_key LIKE '%bundled with Pillow%'").fetchone()[0]
    con.close()
    assert int(old_version) < SCHEMA_VERSION, f"{COMMITTED} must stay a schema-1 store (it was migrated?)"
    before = reports.aggregate(reports.load_points(COMMITTED))  # read-only: migrated in memory, file untouched
    assert sqlite3.connect(COMMITTED).execute(
        "SELECT value FROM meta WHERE name = 'schema_version'").fetchone()[0] == old_version

    with Store(copy) as db:  # a writer migrates in place
        assert db.schema_version == SCHEMA_VERSION
        assert db.count() == old_rows  # every old point is still there
        (step,) = db.meta()["migrations"]
        assert step["from"] == 1 and step["to"] == 2 and step["merged"] == 0 and step["rekeyed"] == old_j2k
        keys = {r["codec_key"] for r in db.records()}
        assert len(db.runs()) == 1  # meta.last_run became the first run
    assert not any("bundled with Pillow" in k or "torch" in k for k in keys)
    after = reports.aggregate(reports.load_points(copy))
    assert reports.to_markdown(after) == reports.to_markdown(before)
    assert reports.to_csv(after) == reports.to_csv(before)

    with Store(copy) as db:  # opening again migrates nothing
        assert len(db.meta()["migrations"]) == 1
    jpeg = registry.create("jpeg")
    if jpeg.version() in next(k for k in keys if k.startswith("jpeg@")):
        assert codec_key_of(jpeg.describe()) in keys  # today's jpeg computes the migrated key: no recompute


def test_a_store_from_a_newer_codecbench_is_refused(tmp_path):
    with Store(tmp_path) as db:
        db.set_meta("schema_version", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="newer codecbench"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="newer codecbench"):
        Store(tmp_path, read_only=True)
