"""The ``tiny`` simulated campaign, written once per test module that needs it."""

from __future__ import annotations

import warnings
from pathlib import Path


def simulate_tiny(root: Path) -> Path:
    """Simulate the ``tiny`` preset into ``root`` (2 jobs, no progress bar) and return ``root``."""
    from absflux import campaign as CP
    from absflux.simulate import simulate_campaign

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # long FITS cards of the simulator's PSF cache
        simulate_campaign(CP.load_campaign(preset="tiny"), root, jobs=2, progress=False)
    return root
