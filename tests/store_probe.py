"""Test helper: how many points a store file holds, read while another process may be writing it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def stored_points(path: str | Path) -> int:
    """Rows in the store's points table; 0 when the file or table does not exist yet or is locked."""
    path = Path(path)
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM points").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0
