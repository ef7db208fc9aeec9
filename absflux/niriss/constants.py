"""Single source of truth for the NIRISS EE / SB / count-rate constants.

Every number of ``NIRISS_FLUXCAL_SPEC.md`` that more than one NIRISS step uses lives
here: radii, annuli, gain, pixel scale, DQ ranges, filters, subarrays, collecting
area, the WebbPSF encircled-energy tables (spec section 14) and the published
NIS-020 reference count rates (spec section 13).  Scripts and modules import these
values; none of them keeps a private copy.
"""

from __future__ import annotations

# --------------------------------------------------------------------------
# Detector and photometry constants (spec sections 2, 3, 6)
# --------------------------------------------------------------------------
#: Pixel scale [arcsec / pixel].
PIXSCALE = 0.0656
#: Detector gain [e- / DN].
GAIN = 1.6
#: Photometry radii of getcircEE1 [px].
EE_RADII = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15)
#: Gap between the largest EE radius and the sky annulus [px] (``skip``).
EE_SKY_SKIP = 5.0
#: Width of the EE sky annulus [px] (``w_ann``); the sky annulus is 20-25 px.
EE_SKY_WIDTH = 5.0
#: Sigma multiple of the EE low-pixel limit (``badlimit = mean - 3 sigma``).
EE_BAD_NSIGMA = 3.0
#: Inner radius of the EE polynomial-repair annulus [px] (outer = largest radius).
EE_REPAIR_RIN = 5.0
#: DQ report annulus of getcircEE1 [px] (the central pixel is excluded).
EE_DQ_ANNULUS = (1.0, 5.0)
#: Median mode (``getcircEE1a``): cutout shape (ny, nx) and median-filter size.
MEDIAN_CUTOUT = (40, 40)
MEDIAN_FILTER_SIZE = (7, 7)
#: Polynomial surface repair (``fix_bad_pixels_surface``): half box and degree.
POLY_BOX = 3
POLY_DEGREE = 3
#: Centroid box (centre of mass, one pass).
CENTROID_BOX = 7
#: Sky statistics: clip level, iterations of the mean/sigma and of the pixel count.
SKY_NSIGMA = 3.0
SKY_MAXITERS_STATS = 5
SKY_MAXITERS_NPIX = 10
#: Fewest usable sky pixels accepted by the corrected (non-legacy) code.
MIN_SKY_PIXELS = 10

#: Surface-brightness radii of getcircSB1 [px] and the annulus half-width.
SB_RADII = (5, 9, 13, 17, 21, 25)
SB_HALF_WIDTH = 2.0
#: SB sky annulus: r_in = max(radii) + SB_SKY_GAP, width SB_SKY_WIDTH (27-32 px).
SB_SKY_GAP = 2.0
SB_SKY_WIDTH = 5.0
#: Sigma multiple of the SB clip limit (``badlimit = mean - 2 sigma``; code, not README).
SB_BAD_NSIGMA = 2.0
#: Annulus of the SB polynomial repair [px] (hard-coded 1-15 in the original).
SB_REPAIR_ANNULUS = (1.0, 15.0)

# --------------------------------------------------------------------------
# DQ (spec section 2): integer range tests of the original code
# --------------------------------------------------------------------------
DQ_DO_NOT_USE = 1
DQ_SATURATED = 2
DQ_JUMP_DET = 4
DQ_NON_SCIENCE = 512
DQ_DEAD = 1024
DQ_HOT = 2048
DQ_WARM = 4096
DQ_LOW_QE = 8192
DQ_UNRELIABLE_BIAS = 4194304
DQ_UNRELIABLE_DARK = 8388608
DQ_REFERENCE_PIXEL = 2147483648

#: "sat" range: 2 <= dq <= 3.
DQ_SAT_RANGE = (2, 3)
#: "dead" range: 5 <= dq < 4095.
DQ_DEAD_RANGE = (5, 4095)
#: "unreliable": dq >= 2**23.
DQ_UNRELIABLE_MIN = 8388608
#: "DONT USE": dq == 1.
DQ_DNU_VALUE = 1
#: Good sky pixel: dq in (0, 4) or 2**12 <= dq < 2**22.
DQ_GOOD_VALUES = (0, 4)
DQ_GOOD_RANGE = (4096, 4194304)
#: Bits that make a pixel unusable in the optional bitwise DQ mode.
DQ_BITWISE_BAD = (
    DQ_DO_NOT_USE
    | DQ_SATURATED
    | DQ_NON_SCIENCE
    | DQ_DEAD
    | DQ_HOT
    | DQ_UNRELIABLE_BIAS
    | DQ_UNRELIABLE_DARK
    | DQ_REFERENCE_PIXEL
)
#: Bits reported as "unreliable" in bitwise mode (UNRELIABLE_* are bits 22-28).
DQ_BITWISE_UNRELIABLE = sum(1 << b for b in range(22, 29))
DQ_MODES = ("range", "bitwise")

# --------------------------------------------------------------------------
# Filters, subarrays, aperture correction (spec section 8)
# --------------------------------------------------------------------------
#: Filter order of totfluxes and NIRISScountrates (the index matters in the original).
FILTERS = (
    "F090W",
    "F115W",
    "F140M",
    "F150W",
    "F158M",
    "F200W",
    "F277W",
    "F356W",
    "F380M",
    "F430M",
    "F444W",
    "F480M",
)
#: Pupil-wheel filters (CLEAR in the filter wheel).
SW_FILTERS = FILTERS[:6]
#: Filter-wheel filters (CLEARP in the pupil wheel).
LW_FILTERS = FILTERS[6:]
#: Throughput of the CLEARP pupil obscuration (MASKSCAL of the CLEARP element), also the
#: factor totfluxes applies to the LW filters because the WebbPSF LW EE tables include it.
CLEARP_FACTOR = 0.84

#: Subarrays accepted by totfluxes (the original list; ``full`` is added by the fix B5).
TOTFLUX_SUBARRAYS = (
    "sub64",
    "sub128",
    "sub256",
    "sub80",
    "subtasoss",
    "subtaami",
    "subampcal",
    "wfss64r",
    "wfss64c",
    "wfss128r",
    "wfss128c",
    "substrip96",
    "substrip256",
    "full",
)
#: Aperture-correction radii of totfluxes [px] (the code's ``[6:-3]``; README 5-10, PDF 5-8).
APCOR_RADII = (7, 8, 9)
#: Star name of the totfluxes printout (hard-coded in the original).
DEFAULT_STAR = "WD 1057+719"

# --------------------------------------------------------------------------
# Synthetic photometry (spec section 9)
# --------------------------------------------------------------------------
#: JWST collecting area [cm^2] used by the NIS-020 analysis (from Pandeia).
COLLECTING_AREA_CM2 = 254009.0

# --------------------------------------------------------------------------
# WebbPSF EE tables (spec section 14): EE at EE_RADII, unit-normalised PSF.
# The LW tables include the ~0.84 CLEARP loss.
# --------------------------------------------------------------------------
WEBBPSF_EE = {
    "F090W": (
        0.51025,
        0.70438,
        0.77511,
        0.83437,
        0.87538,
        0.89909,
        0.91561,
        0.92736,
        0.93634,
        0.94330,
        0.95326,
        0.96231,
    ),
    "F115W": (
        0.53141,
        0.73627,
        0.79517,
        0.83302,
        0.86899,
        0.89453,
        0.91055,
        0.92232,
        0.93109,
        0.93801,
        0.94844,
        0.95794,
    ),
    "F140M": (
        0.52509,
        0.75347,
        0.80816,
        0.83949,
        0.86363,
        0.88670,
        0.90519,
        0.91713,
        0.92604,
        0.93314,
        0.94302,
        0.95327,
    ),
    "F150W": (
        0.51844,
        0.75489,
        0.80847,
        0.84127,
        0.86366,
        0.88478,
        0.90316,
        0.91559,
        0.92443,
        0.93157,
        0.94166,
        0.95174,
    ),
    "F158M": (
        0.51339,
        0.75682,
        0.80872,
        0.84344,
        0.86378,
        0.88252,
        0.90063,
        0.91380,
        0.92262,
        0.92981,
        0.94025,
        0.95026,
    ),
    "F200W": (
        0.49522,
        0.74412,
        0.81092,
        0.84174,
        0.86482,
        0.87908,
        0.89165,
        0.90389,
        0.91455,
        0.92251,
        0.93302,
        0.94315,
    ),
    "F277W": (
        0.30765,
        0.48929,
        0.61482,
        0.65374,
        0.66905,
        0.68583,
        0.70054,
        0.71450,
        0.72699,
        0.73727,
        0.75527,
        0.77222,
    ),
    "F356W": (
        0.25481,
        0.44672,
        0.54219,
        0.63495,
        0.65970,
        0.66904,
        0.68178,
        0.69365,
        0.70399,
        0.71384,
        0.73129,
        0.74922,
    ),
    "F380M": (
        0.22921,
        0.43745,
        0.51536,
        0.62117,
        0.65782,
        0.66596,
        0.67530,
        0.68895,
        0.69764,
        0.70808,
        0.72500,
        0.74242,
    ),
    "F430M": (
        0.19843,
        0.42342,
        0.48709,
        0.58354,
        0.65013,
        0.66322,
        0.66921,
        0.67859,
        0.69061,
        0.69794,
        0.71414,
        0.73481,
    ),
    "F444W": (
        0.19656,
        0.41924,
        0.48572,
        0.57592,
        0.64410,
        0.66190,
        0.66826,
        0.67697,
        0.68702,
        0.69571,
        0.71051,
        0.72916,
    ),
    "F480M": (
        0.17237,
        0.40382,
        0.47002,
        0.53742,
        0.62661,
        0.65887,
        0.66520,
        0.67006,
        0.67830,
        0.68895,
        0.70216,
        0.72042,
    ),
}

# --------------------------------------------------------------------------
# Published NIS-020 results for WD 1057+719, SUB128 [e-/s] (spec section 13)
# --------------------------------------------------------------------------
#: Table 3: expected count rates (pysynphot, STScI NIRISS throughput files, 254009 cm^2).
WD1057_EXPECTED = dict(
    zip(
        FILTERS,
        (1.03e5, 7.00e4, 2.03e4, 3.81e4, 1.76e4, 2.26e4, 1.32e4, 8.28e3, 1.49e3, 9.51e2, 4.98e3, 8.45e2),
        strict=True,
    )
)
#: Table 2: measured count rates (MIRAGE simulations, totfluxes).
WD1057_MEASURED = dict(
    zip(
        FILTERS,
        (0.87e5, 5.59e4, 1.64e4, 3.06e4, 1.40e4, 1.80e4, 0.88e4, 5.48e3, 1.01e3, 6.51e2, 3.31e3, 5.67e2),
        strict=True,
    )
)

# --------------------------------------------------------------------------
# Exposure layout of program 1094 observation 1 (spec sections 10 and 13.4, Table A1)
# (file number, subarray, pupil, filter wheel, NGROUPS, NINTS); dither 1 at (c, c),
# dither 2 at (c + 5, c + 5) with c = SUBARRAY_CENTRE[subarray]; files 55-66 are visit 002.
# --------------------------------------------------------------------------
SUBARRAY_SIZE = {"SUB64": 64, "SUB128": 128, "SUB256": 256, "FULL": 2048}
SUBARRAY_CENTRE = {"SUB64": 32, "SUB128": 64, "SUB256": 128, "FULL": 1024}
DITHER_OFFSET = 5
TABLE_A1 = (
    (1, "SUB64", "F115W", "CLEAR", 25, 5),
    (2, "SUB64", "F115W", "CLEAR", 25, 5),
    (3, "SUB64", "F150W", "CLEAR", 40, 5),
    (4, "SUB64", "F150W", "CLEAR", 40, 5),
    (5, "SUB64", "F200W", "CLEAR", 75, 5),
    (6, "SUB64", "F200W", "CLEAR", 75, 5),
    (7, "SUB128", "F200W", "CLEAR", 20, 3),
    (8, "SUB128", "F200W", "CLEAR", 20, 3),
    (9, "SUB128", "F150W", "CLEAR", 10, 3),
    (10, "SUB128", "F150W", "CLEAR", 10, 3),
    (11, "SUB128", "F140M", "CLEAR", 20, 3),
    (12, "SUB128", "F140M", "CLEAR", 20, 3),
    (13, "SUB128", "F158M", "CLEAR", 25, 3),
    (14, "SUB128", "F158M", "CLEAR", 25, 3),
    (15, "SUB128", "F115W", "CLEAR", 7, 3),
    (16, "SUB128", "F115W", "CLEAR", 7, 3),
    (17, "SUB128", "F090W", "CLEAR", 7, 3),
    (18, "SUB128", "F090W", "CLEAR", 7, 3),
    (19, "SUB128", "CLEARP", "F480M", 800, 2),
    (20, "SUB128", "CLEARP", "F480M", 800, 2),
    (21, "SUB128", "CLEARP", "F380M", 800, 2),
    (22, "SUB128", "CLEARP", "F380M", 800, 2),
    (23, "SUB128", "CLEARP", "F430M", 800, 2),
    (24, "SUB128", "CLEARP", "F430M", 800, 2),
    (25, "SUB128", "CLEARP", "F356W", 30, 3),
    (26, "SUB128", "CLEARP", "F356W", 30, 3),
    (27, "SUB128", "CLEARP", "F444W", 340, 3),
    (28, "SUB128", "CLEARP", "F444W", 340, 3),
    (29, "SUB128", "CLEARP", "F277W", 60, 3),
    (30, "SUB128", "CLEARP", "F277W", 60, 3),
    (31, "SUB256", "CLEARP", "F277W", 15, 3),
    (32, "SUB256", "CLEARP", "F277W", 15, 3),
    (33, "SUB256", "CLEARP", "F444W", 90, 3),
    (34, "SUB256", "CLEARP", "F444W", 90, 3),
    (35, "SUB256", "CLEARP", "F356W", 40, 3),
    (36, "SUB256", "CLEARP", "F356W", 40, 3),
    (37, "SUB256", "CLEARP", "F430M", 350, 2),
    (38, "SUB256", "CLEARP", "F430M", 350, 2),
    (39, "SUB256", "CLEARP", "F380M", 245, 2),
    (40, "SUB256", "CLEARP", "F380M", 245, 2),
    (41, "SUB256", "CLEARP", "F480M", 400, 2),
    (42, "SUB256", "CLEARP", "F480M", 400, 2),
    (43, "SUB256", "F200W", "CLEAR", 6, 3),
    (44, "SUB256", "F200W", "CLEAR", 6, 3),
    (45, "SUB256", "F150W", "CLEAR", 4, 3),
    (46, "SUB256", "F150W", "CLEAR", 4, 3),
    (47, "SUB256", "F140M", "CLEAR", 6, 3),
    (48, "SUB256", "F140M", "CLEAR", 6, 3),
    (49, "SUB256", "F158M", "CLEAR", 7, 3),
    (50, "SUB256", "F158M", "CLEAR", 7, 3),
    (51, "SUB256", "F115W", "CLEAR", 3, 3),
    (52, "SUB256", "F115W", "CLEAR", 3, 3),
    (53, "SUB256", "F090W", "CLEAR", 3, 3),
    (54, "SUB256", "F090W", "CLEAR", 3, 3),
    (55, "FULL", "CLEARP", "F277W", 2, 2),
    (56, "FULL", "CLEARP", "F277W", 2, 2),
    (57, "FULL", "CLEARP", "F444W", 5, 2),
    (58, "FULL", "CLEARP", "F444W", 5, 2),
    (59, "FULL", "CLEARP", "F356W", 3, 2),
    (60, "FULL", "CLEARP", "F356W", 3, 2),
    (61, "FULL", "CLEARP", "F430M", 20, 1),
    (62, "FULL", "CLEARP", "F430M", 20, 1),
    (63, "FULL", "CLEARP", "F380M", 10, 2),
    (64, "FULL", "CLEARP", "F380M", 10, 2),
    (65, "FULL", "CLEARP", "F480M", 25, 1),
    (66, "FULL", "CLEARP", "F480M", 25, 1),
)

# --------------------------------------------------------------------------
# Simulation-only values (not flight calibration)
# --------------------------------------------------------------------------
#: Pixel solid angle [sr] of a 0.0656" pixel.
PIXAR_SR = (PIXSCALE / 206264.80624709636) ** 2
#: PHOTMJSR [(MJy/sr) / (DN/s)] written into the simulated cal files: the inverse of the
#: DN/s a flat 1 MJy/sr source gives per pixel with the pandeia curves, 254009 cm^2,
#: gain 1.6 and the CLEARP factor for LW (computed once with synphot 1.8; rounded).
SIM_PHOTMJSR = dict(
    zip(
        FILTERS,
        (0.2920, 0.2713, 0.6342, 0.3056, 0.5940, 0.2817, 0.2766, 0.2612, 1.2676, 1.5793, 0.2886, 1.4223),
        strict=True,
    )
)
#: Sky level of the simulated exposures [DN/s/pixel] (order of the JWST zodiacal background).
SIM_SKY_SW = 0.05
SIM_SKY_LW = 0.25
#: Effective read noise per integration [e-] of the simple simulated ramp fit.
SIM_READNOISE_E = 12.0
#: Number of rows/columns of the detector reference-pixel border (FULL frame).
REFPIX_BORDER = 4
