#!/usr/bin/env python
"""Encircled-energy photometry of one star (spec section 3).

Run ``python niriss/getcircEE1.py --help``; the logic is in :mod:`absflux.niriss`.
"""

import sys

from absflux.cli import run
from absflux.niriss.cli import getcircee1_main

if __name__ == "__main__":
    sys.exit(run(getcircee1_main))
