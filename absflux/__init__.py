"""absflux: flux calibration of JWST MIRI imaging and coronagraphy.

The logic of every numbered top-level script lives in this package; the
scripts only parse arguments, set up logging and call these functions.
"""

__version__ = "0.1.0"
