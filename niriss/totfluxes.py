#!/usr/bin/env python
"""Aperture-corrected total count rates (spec section 8).

Run ``python niriss/totfluxes.py --help``; the logic is in :mod:`absflux.niriss`.
"""

import sys

from absflux.cli import run
from absflux.niriss.cli import totfluxes_main

if __name__ == "__main__":
    sys.exit(run(totfluxes_main))
