"""NIRISS imaging flux-calibration tools (encircled energy, surface brightness, count rates).

A reimplementation of the NIS-020 scripts (goudfroo/niriss-imagefluxcal) described in
``NIRISS_FLUXCAL_SPEC.md``.  The logic lives in this subpackage; the scripts in the
repository's ``niriss/`` folder are thin command-line wrappers around :mod:`.cli`.

Modules
-------
constants   all NIRISS numbers (radii, annuli, gain, DQ ranges, filters, EE tables)
io          reading exposures and tables, atomic writes, provenance
common      centroid, pixel collection, DQ logic, sky statistics
repair      polynomial surface repair and median replacement
ee          encircled-energy photometry (getcircEE1)
sb          surface-brightness profile (getcircSB1)
combine     meanflux1 / meansb1
totals      totfluxes
countrates  NIRISScountrates (synphot)
psfmodel    radial PSF with the WebbPSF encircled energy (simulation)
simulate    simulated WD 1057+719 data set
batch       batch driver
cli         command-line front ends
"""
