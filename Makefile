# Two commands: `make demo` (main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= demo_run
NIRISS_DIR ?= niriss_run
STAMP := $(VENV)/.installed

.PHONY: venv demo figures test test-fast lint clean simulate-tiny niriss-demo

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Each step skips work already done, so an interrupted `make demo` resumes.
demo: $(STAMP)
	@if [ -f $(DEMO_DIR)/truth.ecsv ]; then echo "campaign $(DEMO_DIR) exists: not simulated again"; \
	else $(PY) simulate_campaign.py --preset demo --out $(DEMO_DIR); fi
	$(PY) pipeline_all.py --root $(DEMO_DIR) --jobs 2 --onlynew --sky-star-wings subtract
	$(PY) calc_webbpsfs.py --root $(DEMO_DIR) --all --like-simulation
	# a failed set or mosaic is reported by the step and the chain goes on
	-$(PY) calc_all_ees.py --root $(DEMO_DIR) --jobs 2 --ee-from mosaic
	$(PY) create_apcor_reffile.py --root $(DEMO_DIR) --version demo
	-$(PY) aper_all.py --root $(DEMO_DIR) --jobs 2 --truth
	# per-exposure photometry of the repeat star (sensitivity figure) and of F770W (dither report)
	for f in F560W F770W F1000W F1130W F1280W F1500W F1800W F2100W F2550W; do \
	  $(PY) aper_one_filter.py --root $(DEMO_DIR) --dir ADwarfs --filter $$f --indivcals --no-png --skip-bad || exit 1; done
	-$(PY) aper_one_filter.py --root $(DEMO_DIR) --dir all --filter F770W --indivmos --no-png --skip-bad
	$(PY) model_fluxes.py --root $(DEMO_DIR) --grieke
	$(PY) model_fluxes.py --root $(DEMO_DIR)
	$(PY) plot_repeatability.py --basedir $(DEMO_DIR) --docs --png
	$(PY) generate_coron_repeat_from_imager.py --basedir $(DEMO_DIR)
	$(PY) plot_subtrans.py --basedir $(DEMO_DIR) --filter F770W --png
	$(PY) plot_subtrans.py --basedir $(DEMO_DIR) --filter F1280W --png
	$(PY) plot_multi_calfacs.py --basedir $(DEMO_DIR) --grieke --xaxisval subarr --noignore --png
	$(PY) plot_subtrans_allobs.py --basedir $(DEMO_DIR) --derive --png
	$(PY) plot_multi_calfacs.py --basedir $(DEMO_DIR) --grieke --subarrcor --png
	$(PY) plot_multi_calfacs.py --basedir $(DEMO_DIR) --grieke --subarrcor --xaxisval srctype --png
	$(PY) create_photom_reffile.py --basedir $(DEMO_DIR) --version demo
	-$(PY) validate_campaign.py --basedir $(DEMO_DIR)

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
