#!/usr/bin/env python
"""Batch driver: EE/SB steps, means and totals for a list of exposures.

Run ``python niriss/run_niriss_batch.py --help``; the logic is in :mod:`absflux.niriss`.
"""

import sys

from absflux.cli import run
from absflux.niriss.cli import batch_main

if __name__ == "__main__":
    sys.exit(run(batch_main))
