"""Where the offline data mirror is, and the mark for tests that need it (one definition
for every test module; ``conftest`` sets ``HELPERS_DATA_MIRROR`` when the folder exists)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MIRROR = Path(
    os.environ.get("HELPERS_DATA_MIRROR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
needs_mirror = pytest.mark.skipif(
    not (MIRROR / "MIRROR.tsv").is_file() or not (MIRROR / "mirror").is_dir(),
    reason=f"offline data mirror absent at {MIRROR} (set HELPERS_DATA_MIRROR to ../shared/data)",
)
