"""Shared fixtures: paths to the repository and to ../shared reference data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared reference data not available")
    return SHARED


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO
