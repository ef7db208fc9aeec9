#!/usr/bin/env python
"""Weighted mean of per-dither EE tables (spec section 5).

Run ``python niriss/meanflux1.py --help``; the logic is in :mod:`absflux.niriss`.
"""

import sys

from absflux.cli import run
from absflux.niriss.cli import meanflux1_main

if __name__ == "__main__":
    sys.exit(run(meanflux1_main))
