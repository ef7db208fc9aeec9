#!/usr/bin/env python
"""Weighted mean of SB tables (spec section 7).

Run ``python niriss/meansb1.py --help``; the logic is in :mod:`absflux.niriss`.
"""

import sys

from absflux.cli import run
from absflux.niriss.cli import meansb1_main

if __name__ == "__main__":
    sys.exit(run(meansb1_main))
