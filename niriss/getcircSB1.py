#!/usr/bin/env python
"""Surface-brightness profile of one star (spec section 6).

Run ``python niriss/getcircSB1.py --help``; the logic is in :mod:`absflux.niriss`.
"""

import sys

from absflux.cli import run
from absflux.niriss.cli import getcircsb1_main

if __name__ == "__main__":
    sys.exit(run(getcircsb1_main))
