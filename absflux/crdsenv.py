"""Choosing the CRDS configuration of a step script before jwst is imported."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def select_crds(root: Path, crds_cache: Path | None) -> str:
    """Select the CRDS configuration for this process; returns a description.

    * ``crds_cache`` given: that local cache (simulated or a copy of a real one).
    * else, if ``CRDS_PATH`` is set in the environment: the user's configuration
      (real server or their own cache) is left untouched.
    * else, if ``<root>/crds_cache`` holds a cache (a simulated campaign): use it.
    * else: the crds defaults (the real CRDS server), nothing changed.
    """
    from .crds_cache import activate_crds_cache

    if crds_cache is not None:
        if not (Path(crds_cache) / "config" / "jwst" / "server_config").is_file():
            raise FileNotFoundError(f"{crds_cache}: not a CRDS cache (no config/jwst/server_config)")
        activate_crds_cache(crds_cache)
        return f"local CRDS cache {crds_cache}"
    if os.environ.get("CRDS_PATH"):
        return f"CRDS_PATH={os.environ['CRDS_PATH']} from the environment"
    auto = Path(root) / "crds_cache"
    if (auto / "config" / "jwst" / "server_config").is_file():
        activate_crds_cache(auto)
        return f"local CRDS cache {auto} (found in the campaign root)"
    return "CRDS defaults (server)"
