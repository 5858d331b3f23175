"""Build libbpg's ``bpgenc``/``bpgdec`` from a source tarball or folder into a cache prefix.

Nothing is downloaded: the caller passes the libbpg source (the official ``libbpg-X.Y.Z.tar.gz`` or an unpacked
folder). :func:`build_bpg`

1. hashes the source (sha256 of the tarball; of every source file's path and bytes for a folder),
2. returns the cached build when ``PREFIX/build.json`` records the same source hash and options,
3. checks the tools and headers the build needs, naming the missing ones and their Debian packages,
4. unpacks into a temporary folder beside the prefix, runs ``make USE_BPGVIEW= -jN`` (no shell, own process
   group, killed on timeout), stages ``bin/bpgenc``, ``bin/bpgdec`` and ``build.json``, and renames the stage
   onto the prefix in one step: a failed or interrupted build leaves no half-installed binary.

The default prefix is ``$CODECBENCH_CACHE/bpg/<first 12 hex digits of the source sha256>`` (``-jctvc`` appended
when built with the JCTVC encoder), where :mod:`codecbench.codecs.bpg` looks for binaries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from codecbench.errors import CodecbenchError
from codecbench.paths import cache_dir
from codecbench.tools.proc import ProcStartError, ProcTimeout, run_group

ENC_ENV, DEC_ENV = "CODECBENCH_BPGENC", "CODECBENCH_BPGDEC"  # read by codecbench.codecs.bpg
BUILD_TIMEOUT_S = 3600.0
MANIFEST = "build.json"
# (what, how it is checked, Debian package)
TOOLS = (("make", "make"), ("gcc", "gcc"), ("g++", "g++"), ("cmake", "cmake"), ("yasm", "yasm"))
HEADERS = (("png.h", "libpng-dev"), ("jpeglib.h", "libjpeg-dev"))
_SKIP_SUFFIXES = (".o", ".a", ".d")
_SKIP_NAMES = {"bpgenc", "bpgdec", "bpgview", "x265.out"}


class BuildError(CodecbenchError, RuntimeError):
    """The build cannot run or failed; the message says why (missing packages, make's last lines)."""


@dataclass(frozen=True)
class BuildResult:
    prefix: Path
    bpgenc: Path
    bpgdec: Path
    cached: bool
    seconds: float  # wall time of this call
    manifest: dict


def bpg_cache_root() -> Path:
    """Folder holding one sub-folder per cached build: ``$CODECBENCH_CACHE/bpg``."""
    return cache_dir() / "bpg"


def source_sha256(source: Path) -> str:
    """sha256 of a tarball's bytes, or of a folder's relative paths and file bytes (build outputs skipped)."""
    h = hashlib.sha256()
    if source.is_file():
        with open(source, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_NAMES and not d.startswith("."))
        for name in sorted(files):
            if name in _SKIP_NAMES or name.endswith(_SKIP_SUFFIXES):
                continue
            path = Path(root, name)
            h.update(str(path.relative_to(source)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def missing_prerequisites() -> list[tuple[str, str]]:
    """(tool or header, Debian package) pairs that are absent; empty when the build can run."""
    missing = [(tool, pkg) for tool, pkg in TOOLS if shutil.which(tool) is None]
    compiler = shutil.which("gcc")
    for header, pkg in HEADERS:
        if compiler is None:
            missing.append((header, pkg))
            continue
        try:
            proc = subprocess.run([compiler, "-E", "-x", "c", "-o", os.devnull, "-"],
                                  input=f"#include <{header}>\n".encode(), capture_output=True, timeout=60,
                                  check=False)
            ok = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if not ok:
            missing.append((header, pkg))
    return missing


def _unpack(source: Path, dest: Path) -> Path:
    """Copy or extract the source into dest; returns the folder holding libbpg's Makefile."""
    if source.is_dir():
        top = dest / "src"
        shutil.copytree(source, top, symlinks=True,
                        ignore=shutil.ignore_patterns("*.o", "*.a", "*.d", "x265.out", "bpgenc", "bpgdec", "bpgview"))
    else:
        try:
            with tarfile.open(source) as tar:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuses links/paths leaving dest
                    tar.extractall(dest / "src", filter="data")
                else:
                    for m in tar.getmembers():
                        if m.name.startswith("/") or ".." in Path(m.name).parts or m.islnk() or m.isdev():
                            raise BuildError(f"{source}: unsafe member {m.name!r} in the archive")
                    tar.extractall(dest / "src")
        except (tarfile.TarError, OSError) as exc:
            raise BuildError(f"{source}: not a readable tar archive ({exc})") from exc
        top = dest / "src"
    for cand in [top, *sorted(p for p in top.iterdir() if p.is_dir())]:
        if (cand / "Makefile").is_file() and (cand / "bpgenc.c").is_file():
            return cand
    raise BuildError(f"{source}: no libbpg source found (expected a Makefile beside bpgenc.c at its top level)")


def _read_manifest(prefix: Path) -> dict | None:
    try:
        with open(prefix / MANIFEST, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cached(prefix: Path, digest: str, options: dict) -> dict | None:
    m = _read_manifest(prefix)
    if not m or m.get("source_sha256") != digest or m.get("options") != options:
        return None
    bins = [prefix / "bin" / n for n in ("bpgenc", "bpgdec")]
    return m if all(b.is_file() and os.access(b, os.X_OK) for b in bins) else None


def banner(bpgenc: Path) -> str:
    """First line of ``bpgenc -h`` (it names the version), '' when it cannot be run."""
    try:
        proc = run_group([str(bpgenc), "-h"], timeout_s=30)
    except (ProcStartError, ProcTimeout):
        return ""
    text = (proc.stdout + proc.stderr).decode(errors="replace").strip()
    return text.splitlines()[0] if text else ""


def _make(top: Path, jobs: int, jctvc: bool, timeout_s: float, log_path: Path) -> None:
    argv = ["make", "USE_BPGVIEW=", f"-j{jobs}"] + (["USE_JCTVC=y"] if jctvc else [])
    with open(log_path, "wb") as log:
        try:
            proc = run_group(argv, timeout_s=timeout_s, cwd=str(top), stdout=log, stderr=subprocess.STDOUT)
        except ProcTimeout:
            raise BuildError(f"`{' '.join(argv)}` timed out after {timeout_s:g} s") from None
        except ProcStartError as exc:
            raise BuildError(f"`{' '.join(argv)}` could not be started: {exc}") from exc
    if proc.returncode != 0:
        tail = log_path.read_bytes().decode(errors="replace").strip().splitlines()[-15:]
        raise BuildError(f"`{' '.join(argv)}` failed with exit status {proc.returncode}; its last lines:\n"
                         + "\n".join(tail))
    for name in ("bpgenc", "bpgdec"):
        if not (top / name).is_file():
            raise BuildError(f"make finished but {top / name} was not built")


def build_bpg(source: str | Path, prefix: str | Path | None = None, *, jobs: int = 2, jctvc: bool = False,
              timeout_s: float = BUILD_TIMEOUT_S, force: bool = False) -> BuildResult:
    """Build (or reuse) bpgenc/bpgdec from source; see the module docstring. Raises BuildError."""
    t0 = time.perf_counter()
    source = Path(source).expanduser().resolve()
    if not source.exists():
        raise BuildError(f"{source}: no such file or folder (pass the libbpg tarball or its unpacked folder)")
    digest = source_sha256(source)
    options = {"jctvc": bool(jctvc), "bpgview": False}
    prefix = Path(prefix).expanduser().resolve() if prefix else \
        bpg_cache_root() / (digest[:12] + ("-jctvc" if jctvc else ""))
    if not force and (m := _cached(prefix, digest, options)):
        return BuildResult(prefix, prefix / "bin" / "bpgenc", prefix / "bin" / "bpgdec", True,
                           time.perf_counter() - t0, m)
    missing = missing_prerequisites()
    if missing:
        pkgs = sorted({pkg for _, pkg in missing})
        raise BuildError(f"cannot build libbpg: missing {', '.join(w for w, _ in missing)}; install them with "
                         f"`apt-get install -y {' '.join(pkgs)}` (Debian/Ubuntu package names)")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{prefix.name}.build-", dir=prefix.parent))
    log_path = prefix.parent / f"{prefix.name}.build.log"
    try:
        top = _unpack(source, work)
        t_make = time.perf_counter()
        _make(top, jobs, jctvc, timeout_s, work / "build.log")
        make_s = time.perf_counter() - t_make
        stage = work / "stage"
        (stage / "bin").mkdir(parents=True)
        for name in ("bpgenc", "bpgdec"):
            shutil.copy2(top / name, stage / "bin" / name)
            os.chmod(stage / "bin" / name, 0o755)
        manifest = {
            "source": str(source), "source_sha256": digest, "options": options,
            "version": (top / "VERSION").read_text().strip() if (top / "VERSION").is_file() else None,
            "banner": banner(stage / "bin" / "bpgenc"), "make_s": round(make_s, 1), "jobs": jobs,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        shutil.copy2(work / "build.log", stage / "build.log")
        _install(stage, prefix)
    except BuildError as exc:
        if not (work / "build.log").is_file():
            raise
        shutil.copy2(work / "build.log", log_path)
        raise BuildError(f"{exc}\n(full make log: {log_path}; {prefix} was left as it was)") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BuildResult(prefix, prefix / "bin" / "bpgenc", prefix / "bin" / "bpgdec", False,
                       time.perf_counter() - t0, manifest)


def _install(stage: Path, prefix: Path) -> None:
    """Move the staged build onto prefix in one rename (an older build there is moved aside, then removed)."""
    old = None
    if prefix.exists():
        old = prefix.with_name(f".{prefix.name}.old-{os.getpid()}")
        os.rename(prefix, old)
    try:
        os.rename(stage, prefix)
    except OSError:
        if old is not None and not prefix.exists():
            os.rename(old, prefix)
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
