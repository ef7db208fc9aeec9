# Two commands: `make demo` (main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= demo_run
# `make demo PRESET=tiny DEMO_DIR=tiny_run` runs the same chain on the tiny campaign (minutes)
PRESET ?= demo
NIRISS_DIR ?= niriss_run
STAMP := $(VENV)/.installed

.PHONY: venv demo figures test test-fast lint clean simulate-tiny niriss-demo

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Filters of steps 7-10 per preset.  The demo observes every filter; tiny has the repeat star (time
# dependence) only in F770W and F2100W and the subarray-transfer star only in F770W, so its chain is
# restricted to them by name (a named filter without inputs is an error, never a silent gap).
ifeq ($(PRESET),tiny)
CHAIN_FILTERS := --filters F770W F2100W
SUBTRANS_FILTERS := F770W
CORON_TIME := no
else
CHAIN_FILTERS :=
SUBTRANS_FILTERS := F770W F1280W
CORON_TIME := yes
endif

# Each step skips work already done, so an interrupted `make demo` resumes.  Every step is timed
# (absflux/steptime.py); the table of wall times is printed after the validation table.
STEP = $(PY) -m absflux.steptime --log $(DEMO_DIR)/step_times.tsv --label
demo: $(STAMP)
	@mkdir -p $(DEMO_DIR) && rm -f $(DEMO_DIR)/step_times.tsv
	@if [ -f $(DEMO_DIR)/truth.ecsv ]; then echo "campaign $(DEMO_DIR) exists: not simulated again"; \
	else $(STEP) "0 simulate the campaign" -- $(PY) simulate_campaign.py --preset $(PRESET) --out $(DEMO_DIR); fi
	$(STEP) "1 jwst pipeline (--jobs 2)" -- $(PY) pipeline_all.py --root $(DEMO_DIR) --jobs 2 --onlynew --sky-star-wings subtract
	$(STEP) "2 PSF files" -- $(PY) calc_webbpsfs.py --root $(DEMO_DIR) --all --like-simulation
	# a failed set or mosaic is reported by the step and the chain goes on
	-$(STEP) "3 encircled energies" -- $(PY) calc_all_ees.py --root $(DEMO_DIR) --jobs 2 --ee-from mosaic
	$(STEP) "4 APCORR reference file" -- $(PY) create_apcor_reffile.py --root $(DEMO_DIR) --version demo
	-$(STEP) "5 photometry of the mosaics" -- $(PY) aper_all.py --root $(DEMO_DIR) --jobs 2 --truth
	# per-exposure photometry of the repeat star (sensitivity figure) and of F770W (dither report), in the
	# imager filters the campaign has (tiny observes two of the nine)
	$(STEP) "5 per-exposure photometry" -- sh -c 'n=0; for f in F560W F770W F1000W F1130W F1280W F1500W F1800W F2100W F2550W; do \
	  [ -d "$(DEMO_DIR)/ADwarfs/$$f" ] || continue; n=$$((n + 1)); \
	  $(PY) aper_one_filter.py --root $(DEMO_DIR) --dir ADwarfs --filter $$f --indivcals --no-png --skip-bad || exit 1; done; \
	  [ $$n -gt 0 ] || { echo "error: no imager filter of ADwarfs in $(DEMO_DIR)" >&2; exit 2; }'
	-$(STEP) "5 per-mosaic photometry (F770W)" -- $(PY) aper_one_filter.py --root $(DEMO_DIR) --dir all --filter F770W --indivmos --no-png --skip-bad
	$(STEP) "6 model flux densities (G. Rieke)" -- $(PY) model_fluxes.py --root $(DEMO_DIR) --grieke
	$(STEP) "6 model flux densities (CALSPEC)" -- $(PY) model_fluxes.py --root $(DEMO_DIR)
	$(STEP) "7 time dependence" -- $(PY) plot_repeatability.py --basedir $(DEMO_DIR) --docs --png
ifeq ($(CORON_TIME),yes)
	$(STEP) "7 coronagraphic/FND time dependence" -- $(PY) generate_coron_repeat_from_imager.py --basedir $(DEMO_DIR)
endif
	@for f in $(SUBTRANS_FILTERS); do \
	  $(STEP) "8 subarray transfer $$f" -- $(PY) plot_subtrans.py --basedir $(DEMO_DIR) --filter $$f --png || exit 1; done
	$(STEP) "8 C by subarray" -- $(PY) plot_multi_calfacs.py --basedir $(DEMO_DIR) $(CHAIN_FILTERS) --grieke --xaxisval subarr --noignore --png
	$(STEP) "8 subarray factors from all observations" -- $(PY) plot_subtrans_allobs.py --basedir $(DEMO_DIR) --derive --png
	$(STEP) "9 calibration factors" -- $(PY) plot_multi_calfacs.py --basedir $(DEMO_DIR) $(CHAIN_FILTERS) --grieke --subarrcor --png
	$(STEP) "9 C by source type" -- $(PY) plot_multi_calfacs.py --basedir $(DEMO_DIR) $(CHAIN_FILTERS) --grieke --subarrcor --xaxisval srctype --png
	$(STEP) "10 PHOTOM reference file" -- $(PY) create_photom_reffile.py --basedir $(DEMO_DIR) $(CHAIN_FILTERS) --version demo
	-$(STEP) "validation" -- $(PY) validate_campaign.py --basedir $(DEMO_DIR) $(CHAIN_FILTERS)
	@$(PY) -m absflux.steptime --report $(DEMO_DIR)/step_times.tsv

# Paper figures and tables from the current outputs of the demo (after `make demo`).
figures: $(STAMP)
	$(PY) make_paper_products.py --root $(DEMO_DIR)

simulate-tiny: $(STAMP)
	$(PY) simulate_campaign.py --preset tiny --out tiny_run

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile tests

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -m "not slow" tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

niriss-demo: $(STAMP)
	$(PY) niriss/simulate_niriss.py --out $(NIRISS_DIR)/sim
	$(PY) niriss/run_niriss_batch.py $(NIRISS_DIR)/sim/exposures.txt --out $(NIRISS_DIR) --truth $(NIRISS_DIR)/sim/truth.ecsv
	@if [ -f ../shared/data/calspec/wd1057_719_stisnic_009.fits ]; then \
	  $(PY) niriss/NIRISScountrates.py ../shared/data/calspec/wd1057_719_stisnic_009.fits \
	    --throughputs ../shared/data/bandpasses/niriss_pandeia --outtab $(NIRISS_DIR)/predicted_countrates.txt; fi

clean:
	rm -rf $(DEMO_DIR) tiny_run $(NIRISS_DIR) .pytest_cache
