"""Single source of truth for MIRI instrument, method and campaign constants.

Every number used by more than one step lives here (spec section 0.4 and 0.5 of
``MIRI_FLUXCAL_SPEC.md``).  Scripts and modules import these tables; none of
them keeps a private copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------
IMAGER_FILTERS = (
    "F560W",
    "F770W",
    "F1000W",
    "F1130W",
    "F1280W",
    "F1500W",
    "F1800W",
    "F2100W",
    "F2550W",
)
CORON_FILTERS = ("F1065C", "F1140C", "F1550C", "F2300C")
FND_FILTER = "FND"
ALL_FILTERS = IMAGER_FILTERS + CORON_FILTERS + (FND_FILTER,)

#: Plot order of the multi-panel figures (spec 0.3).
PLOT_ORDER = (
    "F560W",
    "F770W",
    "F1000W",
    "F1130W",
    "F1280W",
    "FND",
    "F1500W",
    "F1800W",
    "F2100W",
    "F2550W",
    "F1065C",
    "F1140C",
    "F1550C",
    "F2300C",
)

#: Column order of the model photometry table (spec 3.13).
MODEL_TABLE_ORDER = (
    "F560W",
    "F770W",
    "F1000W",
    "F1065C",
    "F1140C",
    "F1130W",
    "F1280W",
    "F1500W",
    "F1550C",
    "F1800W",
    "F2100W",
    "F2300C",
    "F2550W",
    "FND",
)

#: PSF full width at half maximum in 0.11" pixels (spec 0.4).
FWHM = {
    "F560W": 1.636,
    "F770W": 2.187,
    "F1000W": 2.888,
    "F1065C": 2.910,
    "F1130W": 3.318,
    "F1140C": 3.270,
    "F1280W": 3.713,
    "F1500W": 4.354,
    "F1550C": 4.360,
    "F1800W": 5.224,
    "F2100W": 5.989,
    "F2300C": 6.090,
    "F2550W": 7.312,
    "FND": 3.7,
}

#: Adopted EE merge factor: merge radius = fwhmfac x FWHM (spec 0.4).
FWHMFAC = {
    "F560W": 25.0,
    "F770W": 25.0,
    "F1000W": 15.0,
    "F1130W": 10.0,
    "F1280W": 10.0,
    "F1500W": 10.0,
    "F1800W": 10.0,
    "F2100W": 5.0,
    "F2550W": 5.0,
    "F1065C": 15.0,
    "F1140C": 15.0,
    "F1550C": 10.0,
    "F2300C": 10.0,
    "FND": 5.0,
}
FWHMFAC_SCAN = (5.0, 10.0, 15.0, 20.0, 25.0)
FWHMFAC_DEFAULT = 20.0

#: Pivot wavelengths [micron] of the pandeia total-system throughput (JDox values
#: for the imager; coronagraphic and FND values as used by the original
#: wavelength interpolation of the time dependence, spec 0.4).
PIVOT_WAVELENGTH = {
    "F560W": 5.635,
    "F770W": 7.639,
    "F1000W": 9.953,
    "F1130W": 11.309,
    "F1280W": 12.810,
    "F1500W": 15.064,
    "F1800W": 17.984,
    "F2100W": 20.795,
    "F2550W": 25.364,
    "F1065C": 10.575,
    "F1140C": 11.300,
    "F1550C": 15.514,
    "F2300C": 22.644,
    "FND": 12.9,
}

#: Hard-coded pivots used by the coronagraphic/FND time-dependence interpolation
#: (generate_coron_repeat_from_imager, spec 0.4).
CORON_INTERP_PIVOTS = {
    "F1000W": 9.95,
    "F1130W": 11.31,
    "F1280W": 12.81,
    "F1500W": 15.05,
    "F1800W": 17.97,
    "F2100W": 20.80,
    "F2550W": 25.23,
    "F1065C": 10.60,
    "F1140C": 11.30,
    "F1550C": 15.51,
    "F2300C": 22.66,
    "FND": 12.9,
}
#: Imager pair bracketing each coronagraphic/FND filter (by the pivots above)
#: for that interpolation; F1140C (11.30) lies just below F1130W (11.31).
CORON_INTERP_PAIRS = {
    "F1065C": ("F1000W", "F1130W"),
    "F1140C": ("F1000W", "F1130W"),
    "F1550C": ("F1500W", "F1800W"),
    "F2300C": ("F2100W", "F2550W"),
    "FND": ("F1280W", "F1500W"),
}

#: Nominal wavelengths for plots and sorting [micron].
NOMINAL_WAVELENGTH = {
    "F560W": 5.6,
    "F770W": 7.7,
    "F1000W": 10.0,
    "F1130W": 11.3,
    "F1280W": 12.8,
    "F1500W": 15.0,
    "F1800W": 18.0,
    "F2100W": 21.0,
    "F2550W": 25.5,
    "FND": 13.0,
    "F1065C": 10.65,
    "F1140C": 11.4,
    "F1550C": 15.5,
    "F2300C": 23.0,
}

# --------------------------------------------------------------------------
# Coronagraphy
# --------------------------------------------------------------------------
#: Mask subarray of each coronagraphic filter.
CORON_SUBARRAY = {
    "F1065C": "MASK1065",
    "F1140C": "MASK1140",
    "F1550C": "MASK1550",
    "F2300C": "MASKLYOT",
}
#: Image-plane mask and pupil of each coronagraphic filter (stpsf names).
CORON_IMAGE_MASK = {
    "F1065C": "FQPM1065",
    "F1140C": "FQPM1140",
    "F1550C": "FQPM1550",
    "F2300C": "LYOT2300",
}
CORON_PUPIL_MASK = {
    "F1065C": "MASKFQPM",
    "F1140C": "MASKFQPM",
    "F1550C": "MASKFQPM",
    "F2300C": "MASKLYOT",
}
#: EXP_TYPE of each coronagraphic filter.
CORON_EXP_TYPE = {
    "F1065C": "MIR_4QPM",
    "F1140C": "MIR_4QPM",
    "F1550C": "MIR_4QPM",
    "F2300C": "MIR_LYOT",
}
#: Imager filter written into the faked ``_newcal`` copies for Image3 (spec 0.4).
FAKE_IMAGER_FILTER = {
    "F1065C": "F1000W",
    "F1140C": "F1130W",
    "F1550C": "F1500W",
    "F2300C": "F2100W",
    "FND": "F1280W",
}
#: Offset of the star from the mask centre used for the coronagraphic PSFs,
#: in 0.11" pixels (calc_webbpsfs: 74 x 0.11", -72 x 0.11").
CORON_SOURCE_OFFSET_PIX = (74, -72)
CORON_PSF_CENTER_OVERSAMPLED = (896, 315)

# --------------------------------------------------------------------------
# Subarrays
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Subarray:
    """Geometry and timing of a MIRI imager subarray (FASTR1 readout).

    xstart, ystart are 1-based detector pixels (DMS orientation, as in the
    SUBSTRT1/SUBSTRT2 keywords); tframe is the FASTR1 frame time in seconds.
    """

    name: str
    xstart: int
    ystart: int
    xsize: int
    ysize: int
    tframe: float
    siaf_aperture: str


SUBARRAYS = {
    s.name: s
    for s in (
        Subarray("FULL", 1, 1, 1032, 1024, 2.77504, "MIRIM_FULL"),
        Subarray("BRIGHTSKY", 457, 51, 512, 512, 0.86528, "MIRIM_BRIGHTSKY"),
        Subarray("SUB256", 413, 51, 256, 256, 0.29952, "MIRIM_SUB256"),
        Subarray("SUB128", 1, 891, 136, 128, 0.11904, "MIRIM_SUB128"),
        Subarray("SUB64", 1, 779, 72, 64, 0.08544, "MIRIM_SUB64"),
        Subarray("MASK1065", 1, 21, 288, 224, 0.23808, "MIRIM_MASK1065"),
        Subarray("MASK1140", 1, 243, 288, 224, 0.23808, "MIRIM_MASK1140"),
        Subarray("MASK1550", 1, 463, 288, 224, 0.23808, "MIRIM_MASK1550"),
        Subarray("MASKLYOT", 1, 719, 320, 304, 0.32560, "MIRIM_MASKLYOT"),
        Subarray("SLITLESSPRISM", 1, 529, 72, 416, 0.15904, "MIRIM_SLITLESSPRISM"),
    )
}

IMAGER_SUBARRAYS = ("FULL", "BRIGHTSKY", "SUB256", "SUB128", "SUB64")
FND_SUBARRAYS = ("FULL", "MASK1065", "MASK1140", "MASK1550", "MASKLYOT", "SLITLESSPRISM")


def reffile_subarrays(filt: str) -> tuple[str, ...]:
    """Subarrays written for a filter into the APCORR and PHOTOM files (spec 0.4)."""
    if filt in IMAGER_FILTERS:
        return IMAGER_SUBARRAYS
    if filt in CORON_FILTERS:
        return ("FULL", CORON_SUBARRAY[filt])
    if filt == FND_FILTER:
        return FND_SUBARRAYS
    raise KeyError(f"unknown MIRI filter {filt!r}")


#: Adopted subarray correction factors: rate(subarray) / rate(FULL) (spec 0.4).
SUBARR_COR = {
    "FULL": 1.0,
    "BRIGHTSKY": 1.005,
    "SUB256": 0.98,
    "SUB128": 1.00,
    "SUB64": 0.966,
    "MASK1065": 1.0,
    "MASK1140": 1.0,
    "MASK1550": 1.0,
    "MASKLYOT": 1.0,
    "SLITLESSPRISM": 1.0,
}
#: The hand-tuned "Adopted" values of plot_subtrans_allobs, relative to SUB256,
#: for FULL, BRIGHTSKY, SUB256, SUB128, SUB64.
SUBARR_ADOPTED_REL_SUB256 = (1.02, 1.025, 1.0, 1.02, 0.985)

# --------------------------------------------------------------------------
# Method constants
# --------------------------------------------------------------------------
STARTDAY = 59720.0  #: reference epoch t0 of all time fits (MJD, 2022-05-21)
MOSAIC_PIXEL_SCALE = 0.11  #: arcsec, Image2/Image3 resample pixel scale
MOSAIC_PIXEL_AREA_SR = (0.11 / 206264.80624709636) ** 2  #: 2.8440e-13 sr
PHOTOM_PIXELAREA_SR = 2.8606325654256e-13
PHOTOM_PIXELAREA_ARCSEC2 = 0.01217199
EE_FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85)
EE_FRACTION_PHOT = 0.7
SIGCUT_DEFAULT = 3.5
SIGCUT = {f: (3.0 if f == "F560W" else SIGCUT_DEFAULT) for f in ALL_FILTERS}
#: Paper-era sigma-clip of F560W (spec section 6).
SIGCUT_PAPER_F560W = 3.5
SIGCLIP_MAXITERS = 5

#: Sub-steps of the method that use the background-subtracted photometry.
BKGSUB_CALFAC_FILTERS = CORON_FILTERS
BKGSUB_REPEAT_FILTERS = ("F2550W",) + CORON_FILTERS

#: Cruciform constants of add_cruciform_to_webbpsfs (spec 3.6).
CRUCIFORM_AMPLITUDE = {"F560W": 0.00773238, "F770W": 0.00877061}
CRUCIFORM_SLOPE = {"F560W": 0.01895400, "F770W": 0.02492824}

# --------------------------------------------------------------------------
# Stars
# --------------------------------------------------------------------------
STAR_TYPES = ("HotStars", "ADwarfs", "SolarAnalogs")
STAR_TYPE_LABEL = {"HotStars": "Hot Stars", "ADwarfs": "A Dwarfs", "SolarAnalogs": "Solar Analogs"}
EXTRA_DIRS = ("Asteroids",)

REPEAT_STAR = "BD+60 1753"
#: Bridging stars of the time-dependence fit: (star type, canonical name).
BRIDGING_STARS = (("SolarAnalogs", "HD 37962"), ("ADwarfs", "del UMi"))
IGNORE_STARS = ("HD 180609",)
#: Dedicated subarray-transfer selections: filter -> (star, MJD, half width days).
SUBTRANS_SELECTION = {
    "F770W": ("2MASS J17571324+6703409", 59818.3, 1.0),
    "F1280W": ("2MASS J18022716+6043356", 60177.3, 1.0),
}
#: Repeat-fit exclusions: (filter or "*", centre day since STARTDAY, half width, reason).
#: These are the windows the original scripts (2025, spec 3.17 steps 2 and 6) exclude.
REPEAT_EXCLUSIONS = (
    ("*", 350.0, 5.0, "excess striping"),
    ("F1800W", 40.0, 3.0, "outlier in F1800W"),
)
#: Paper-era extra exclusion (BD+60 1753 within 20 d of MJD 60070; spec 6, commit 1f1befa of Nov 2024).
REPEAT_EXCLUSIONS_PAPER = (("*", 60070.0 - STARTDAY, 20.0, "paper-era exclusion"),)
#: Named exclusion sets of the repeat fit (plot_repeatability.py --exclusions).  ``original-code``
#: is what the original scripts exclude (the default); ``paper-era`` is the set of the paper-era
#: version of that code (day 350 +- 5 and MJD 60070 +- 20, no F1800W window).
REPEAT_EXCLUSION_SETS = {
    "original-code": REPEAT_EXCLUSIONS,
    "paper-era": tuple(e for e in REPEAT_EXCLUSIONS if e[0] == "*") + REPEAT_EXCLUSIONS_PAPER,
}
#: Former names of the sets, still accepted: ``current`` was named after the date, ``paper`` after the
#: paper although the original code does not use it.
REPEAT_EXCLUSION_ALIASES = {"current": "original-code", "paper": "paper-era"}


@dataclass(frozen=True)
class Star:
    """One calibration star.

    Attributes
    ----------
    name : canonical name used in every table.
    startype : directory (HotStars, ADwarfs, SolarAnalogs).
    model_key : CALSPEC model-file key (basename up to ``_stis``).
    aliases : header TARGNAME spellings that map to ``name``.
    targname : TARGNAME written by the simulator (one of the aliases or the name).
    grieke : True when a G. Rieke model is used with ``--grieke``.
    ra, dec : J2000 position [deg]; pmra, pmdec : proper motion [mas/yr].
    sptype : spectral type; teff : effective temperature for the simulated
        spectrum [K]; fnu_7p7 : flux density at 7.7 micron [Jy] (from the
        2022 CALSPEC spectra, used only to make the simulation realistic).
    """

    name: str
    startype: str
    model_key: str
    ra: float
    dec: float
    pmra: float
    pmdec: float
    sptype: str
    teff: float
    fnu_7p7: float
    aliases: tuple[str, ...] = field(default_factory=tuple)
    targname: str | None = None
    grieke: bool = False

    @property
    def header_name(self) -> str:
        return self.targname or self.name


def _hms(h: str, d: str) -> tuple[float, float]:
    hh, mm, ss = (float(v) for v in h.split())
    sign = -1.0 if d.strip().startswith("-") else 1.0
    dd, dm, ds = (abs(float(v)) for v in d.split())
    return 15.0 * (hh + mm / 60 + ss / 3600), sign * (dd + dm / 60 + ds / 3600)


def _star(name, stype, key, ra, dec, pmra, pmdec, sptype, teff, f77, **kw) -> Star:
    r, d = _hms(ra, dec)
    return Star(name, stype, key, r, d, pmra, pmdec, sptype, teff, f77, **kw)


STARS = {
    s.name: s
    for s in (
        # Hot stars (white dwarfs and O/B stars)
        _star(
            "G 191-B2B", "HotStars", "g191b2b", "05 05 30.618", "+52 49 51.92", 12.59, -93.52, "DA.8", 60000, 0.00044
        ),
        _star("GD 71", "HotStars", "gd71", "05 52 27.620", "+15 53 13.23", 76.84, -172.94, "DA1.5", 33000, 0.00014),
        _star(
            "GD 153",
            "HotStars",
            "gd153",
            "12 57 02.322",
            "+22 01 52.63",
            -38.41,
            -202.95,
            "DA1.2",
            40000,
            0.00011,
            aliases=("GD153",),
            targname="GD153",
        ),
        _star("LDS 749B", "HotStars", "lds749b", "21 32 16.233", "+00 15 14.40", 413.23, 27.27, "DBQ4", 13500, 0.00006),
        _star(
            "WD 1057+719",
            "HotStars",
            "wd1057_719",
            "11 00 34.243",
            "+71 38 02.92",
            -43.64,
            -21.75,
            "DA1.2",
            40000,
            0.00003,
            aliases=("PG 1057+719",),
            targname="PG 1057+719",
        ),
        _star(
            "10 Lac",
            "HotStars",
            "10lac",
            "22 39 15.679",
            "+39 03 00.97",
            -0.32,
            -5.46,
            "O9V",
            33000,
            0.33874,
            aliases=("10LAC",),
            targname="10LAC",
        ),
        _star("lam Lep", "HotStars", "lamlep", "05 19 34.524", "-13 10 36.44", -3.3, -4.91, "B0.5V", 28000, 0.53023),
        _star("mu Col", "HotStars", "mucol", "05 45 59.895", "-32 18 23.16", 2.99, -22.03, "O9.5V", 31000, 0.21631),
        # A dwarfs
        _star("BD+60 1753", "ADwarfs", "bd60d1753", "17 24 52.277", "+60 25 50.78", 3.98, 1.81, "A1V", 9400, 0.00896),
        _star(
            "2MASS J17430448+6655015",
            "ADwarfs",
            "1743045",
            "17 43 04.486",
            "+66 55 01.66",
            1.1,
            -2.79,
            "A8III",
            7600,
            0.00047,
        ),
        _star(
            "2MASS J17571324+6703409",
            "ADwarfs",
            "1757132",
            "17 57 13.233",
            "+67 03 40.77",
            0.41,
            -14.03,
            "A3V",
            8600,
            0.00215,
            aliases=("J1757132",),
            targname="J1757132",
        ),
        _star(
            "2MASS J18022716+6043356",
            "ADwarfs",
            "1802271",
            "18 02 27.163",
            "+60 43 35.54",
            5.4,
            2.17,
            "A2V",
            8900,
            0.00116,
            aliases=("J1802271",),
            targname="J1802271",
        ),
        _star("HD 2811", "ADwarfs", "hd2811", "00 31 18.490", "-43 36 23.00", -6.02, -4.18, "A3V", 8600, 0.09677),
        _star("HD 55677", "ADwarfs", "hd55677", "07 14 31.290", "+13 51 36.79", -2.66, -6.81, "A4V", 8400, 0.01392),
        _star(
            "HD 101452", "ADwarfs", "hd101452", "11 40 13.651", "-39 08 47.67", -34.17, -20.98, "A2/3", 8800, 0.11737
        ),
        _star("HD 128998", "ADwarfs", "hd128998", "14 38 15.222", "+54 01 24.02", 17.28, -18.99, "A1V", 9400, 0.30379),
        _star("HD 163466", "ADwarfs", "hd163466", "17 52 25.376", "+60 23 46.94", -2.73, 42.67, "A6V", 8000, 0.18308),
        _star("HD 180609", "ADwarfs", "hd180609", "19 12 47.200", "+64 10 37.17", -3.06, -7.79, "A0V", 9600, 0.01466),
        _star("del UMi", "ADwarfs", "delumi", "17 32 12.997", "+86 35 11.26", 10.17, 53.97, "A1V", 9400, 1.27073),
        # Solar analogs
        _star(
            "GSPC P177-D",
            "SolarAnalogs",
            "p177d",
            "15 59 13.579",
            "+47 36 41.91",
            -7.9,
            1.57,
            "G0V",
            5900,
            0.00116,
            grieke=True,
        ),
        _star(
            "GSPC P330-E",
            "SolarAnalogs",
            "p330e",
            "16 31 33.813",
            "+30 08 46.40",
            -8.99,
            -38.77,
            "G2V",
            5800,
            0.00176,
            grieke=True,
        ),
        _star(
            "16 Cyg B",
            "SolarAnalogs",
            "16cygb",
            "19 41 51.973",
            "+50 31 03.09",
            -134.79,
            -162.49,
            "G3V",
            5750,
            0.90730,
            grieke=True,
        ),
        _star(
            "18 Sco",
            "SolarAnalogs",
            "18sco",
            "16 15 37.270",
            "-08 22 09.98",
            232.16,
            -495.37,
            "G2V",
            5800,
            1.76411,
            grieke=True,
        ),
        _star(
            "HD 106252",
            "SolarAnalogs",
            "hd106252",
            "12 13 29.510",
            "+10 02 29.89",
            22.86,
            -280.01,
            "G0",
            5900,
            0.27746,
            grieke=True,
        ),
        _star(
            "HD 142331",
            "SolarAnalogs",
            "hd142331",
            "15 54 19.788",
            "-08 34 49.37",
            -105.98,
            -23.73,
            "G5V",
            5650,
            0.09621,
            aliases=("HD 1452331",),
            targname="HD 1452331",
            grieke=True,
        ),
        _star(
            "HD 159222",
            "SolarAnalogs",
            "hd159222",
            "17 32 00.992",
            "+34 16 16.13",
            -240.7,
            63.71,
            "G1V",
            5850,
            0.63625,
            aliases=("HR 6538",),
            targname="HR 6538",
            grieke=True,
        ),
        _star(
            "HD 167060",
            "SolarAnalogs",
            "hd167060",
            "18 17 44.143",
            "-61 42 31.62",
            88.52,
            -145.15,
            "G3V",
            5750,
            0.07242,
            grieke=True,
        ),
        _star(
            "HD 205905",
            "SolarAnalogs",
            "hd205905",
            "21 39 10.151",
            "-27 18 23.67",
            384.1,
            -83.96,
            "G2V",
            5800,
            0.51222,
            grieke=True,
        ),
        _star(
            "HD 37962",
            "SolarAnalogs",
            "hd37962",
            "05 40 51.966",
            "-31 21 03.99",
            -59.65,
            -365.23,
            "G2V",
            5800,
            0.20664,
            grieke=True,
        ),
        _star(
            "NGC2506 G31",
            "SolarAnalogs",
            "ngc2506g31",
            "08 00 01.700",
            "-10 46 12.00",
            -2.57,
            3.91,
            "G1V",
            5850,
            0.00035,
            grieke=True,
        ),
        _star("C26202", "SolarAnalogs", "c26202", "03 32 32.843", "-27 51 48.58", 0.0, 0.0, "F8IV", 6100, 0.00006),
        _star("SNAP-2", "SolarAnalogs", "snap2", "16 19 46.103", "+55 34 17.86", -2.91, -10.95, "G0-5", 5800, 0.00010),
    )
}

#: Header TARGNAME -> canonical name (union of the original alias maps, spec 0.5).
TARGNAME_ALIASES = {alias: s.name for s in STARS.values() for alias in s.aliases}

#: CALSPEC model-file key -> canonical name (spec 0.5, model_fluxes ``model_names``).
MODEL_NAMES = {s.model_key: s.name for s in STARS.values()}
MODEL_NAMES.update(
    {
        "lawd87": "LAWD 87",
        "pg1057_719": "PG 1057+719",
        "hr5467": "HR 5467",
    }
)

#: G. Rieke model keys (spec 0.5); ``ngc2506g31`` fixes the original's
#: ``ngc2506_g31`` typo that never matched a file.
GRIEKE_KEYS = tuple(s.model_key for s in STARS.values() if s.grieke)


def canonical_name(targname: str) -> str:
    """Map a header TARGNAME (possibly an alias) to the canonical star name."""
    name = targname.strip()
    return TARGNAME_ALIASES.get(name, name)


def star_type(name: str) -> str:
    """Star-type directory of a star given by canonical name or alias."""
    return STARS[canonical_name(name)].startype


# --------------------------------------------------------------------------
# Detector model shared by the simulator and the synthetic CRDS cache
# --------------------------------------------------------------------------
#: Values of the synthetic MIRIMAGE detector.  The simulator injects exactly
#: what the synthetic reference files describe, so Detector1 recovers the rate.
DETECTOR = {
    "gain": 4.0,  # electrons per DN
    "readnoise": 6.0,  # DN per read injected by the simulator; the READNOISE file holds sqrt(2) x this (CDS)
    "bias": 12000.0,  # DN, mean raw level of the first group
    "bias_sigma": 300.0,  # DN, pixel-to-pixel spread of the bias
    "saturation": 60000.0,  # DN, raw level flagged as saturated
    "dark_rate": 0.0,  # DN/s; the synthetic darks are zero
    "refpix_columns": (0, 1, 2, 3, 1028, 1029, 1030, 1031),  # 0-based FULL columns without light
    "bad_pixel_fraction": 2.0e-4,  # DO_NOT_USE pixels in the synthetic mask
    "bad_pixel_seed": 20220521,
}
#: Largest number of groups the synthetic darks cover, per subarray.  The
#: simulator never asks for more (the campaign validator checks it).
MAX_NGROUPS = {
    "FULL": 10,
    "BRIGHTSKY": 30,
    "SUB256": 60,
    "SUB128": 60,
    "SUB64": 60,
    "MASK1065": 40,
    "MASK1140": 40,
    "MASK1550": 40,
    "MASKLYOT": 40,
    "SLITLESSPRISM": 10,
}
READPATT = "FASTR1"


# ==========================================================================
# Vetted encircled-energy data sets (steps 3-4; appended for issue 4)
# ==========================================================================
# Plain data (YAML-able): {filter: {"fwhmfac", "sets", "rejected", "reason"}}.
# ``sets`` are the "<star type>/<TARGNAME>_setN" data sets whose per-set
# aperture corrections are averaged into the APCORR file (create_apcor_reffile,
# spec 3.11); ``rejected`` are measured by calc_all_ees for inspection but not
# averaged (spec 3.10 calc_all_ees lists minus the vetted ones).  A campaign
# root may override this table with a ``vetted_sets.yaml`` (format in
# ``absflux/apcorr.py``).  These are the original's manual lists.
def _bd60(sets) -> list[str]:
    return [f"ADwarfs/BD+60 1753_set{i}" for i in sets]


_CORON_VETTED = ["ADwarfs/del UMi_set1", "ADwarfs/HD 2811_set1", "SolarAnalogs/HD 167060_set1"]
VETTED_EE_SETS = {
    "F560W": {"sets": _bd60([1, 2, 3, 4, 6]), "rejected": _bd60([5])},
    "F770W": {"sets": _bd60([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]), "rejected": _bd60([9])},
    "F1000W": {"sets": _bd60(range(1, 6)), "rejected": []},
    "F1130W": {"sets": _bd60(range(1, 4)), "rejected": []},
    "F1280W": {"sets": _bd60(range(1, 4)), "rejected": []},
    "F1500W": {"sets": _bd60(range(1, 6)), "rejected": _bd60([6, 7])},
    "F1800W": {"sets": _bd60(range(1, 4)), "rejected": _bd60([4, 5])},
    "F2100W": {"sets": _bd60(range(1, 4)), "rejected": _bd60([4])},
    "F2550W": {"sets": _bd60(range(1, 4)), "rejected": _bd60([4])},
    "FND": {"sets": [f"ADwarfs/del UMi_set{i}" for i in range(1, 9)], "rejected": []},
    "F1065C": {"sets": list(_CORON_VETTED), "rejected": _bd60([1])},
    "F1140C": {"sets": list(_CORON_VETTED), "rejected": _bd60([1])},
    "F1550C": {
        "sets": ["ADwarfs/del UMi_set1", "SolarAnalogs/HD 167060_set1"],
        "rejected": _bd60([1]) + ["ADwarfs/HD 2811_set1"],
        "reason": "HD 2811 removed: jwst 1.13.4 reductions look odd",
    },
    "F2300C": {"sets": list(_CORON_VETTED), "rejected": _bd60([1])},
}
for _f, _entry in VETTED_EE_SETS.items():
    _entry["fwhmfac"] = FWHMFAC[_f]
    _entry.setdefault("reason", "original manual vetting (create_apcor_reffile, spec 3.11)")
del _f, _entry
