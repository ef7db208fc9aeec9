#!/usr/bin/env python
"""Predicted NIRISS count rates of a CALSPEC spectrum with synphot (spec section 9).

Run ``python niriss/NIRISScountrates.py --help``; the logic is in :mod:`absflux.niriss`.
"""

import sys

from absflux.cli import run
from absflux.niriss.cli import countrates_main

if __name__ == "__main__":
    sys.exit(run(countrates_main))
