"""Reading a JSON file whose problems are reported as one error type naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: str | Path, error: type[Exception], what: str) -> Any:
    """Parsed JSON of path; a missing or malformed file raises error(message naming the file and `what` it is)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except (OSError, ValueError) as exc:
        raise error(f"{path}: not valid JSON ({exc})") from None
