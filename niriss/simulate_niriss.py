#!/usr/bin/env python
"""Simulated NIRISS data set of WD 1057+719 with known injected totals.

Run ``python niriss/simulate_niriss.py --help``; the logic is in :mod:`absflux.niriss`.
"""

import sys

from absflux.cli import run
from absflux.niriss.cli import simulate_main

if __name__ == "__main__":
    sys.exit(run(simulate_main))
