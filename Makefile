# chainrule: `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test lint clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e ".[all]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(VENV)/bin/chainrule linreg
	@echo
	$(VENV)/bin/chainrule train --dataset digits
	@echo
	@for kind in activations descent flow gradcheck graph; do \
		$(VENV)/bin/chainrule plot $$kind --out out/pictures || exit 1; \
	done
	@if command -v dot >/dev/null 2>&1; then \
		echo "The pictures are in out/pictures/ (PNG; open them in any image viewer)."; \
	else \
		echo "The pictures are in out/pictures/ (PNG; open them in any image viewer)," \
			"all but the computation graph: drawing it needs Graphviz (see just above)."; \
	fi

test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check chainrule tests
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check chainrule tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Benchmarks (bench/, BENCHMARKS.md's method): chainrule against PyTorch, HIPS autograd,
# MyGrad and hand-written NumPy; writes docs/benchmarks.md and docs/benchmarks.png.
.PHONY: bench bench-quick

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e ".[dev,bench]"
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed-demo

bench: $(VENV)/.installed-bench
	$(PY) -m bench

bench-quick: $(VENV)/.installed-bench
	$(PY) -m bench --quick

# Instructions per unit of W1, W3, W5, W6 (valgrind/callgrind; --compare a saved --json).
.PHONY: instructions

instructions: $(VENV)/.installed-bench
	$(PY) tools/instructions.py

# The tutorial's pictures: runs the code of docs/tutorial.md (Agg backend) and writes
# docs/img/*.png; make test runs both tutorials' code and checks their printed output.
.PHONY: docs

docs: $(VENV)/.installed-dev
	MPLBACKEND=Agg $(PY) docs/make_docs.py

# The op table generates Tensor methods and cr. functions at import; their type stubs
# (chainrule/_tensor_methods.pyi, chainrule/function_forms.pyi) are rewritten from it here.
.PHONY: stubs

stubs: $(VENV)/.installed-dev
	$(PY) tools/generate_stubs.py

# Reliability (README "Reliability", docs/errors.md): make test runs a fixed, fast subset of
# each; these run the full versions.
#   fuzz:      random programs vs PyTorch (values, gradients, second order) and random
#              command lines; FUZZ_EXAMPLES programs in all (make fuzz FUZZ_EXAMPLES=50000)
#   stability: every activation, loss and reduction over ±0, subnormals, 1e-30..1e4 and
#              finfo.max, float32 and float64, warnings as errors, vs PyTorch
#   soak:      5,000 Adam steps with gc off: no graph outlives its step, RSS growth < 5 MB
.PHONY: fuzz stability soak
FUZZ_EXAMPLES ?= 20000

fuzz: $(VENV)/.installed-dev
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -p no:cacheprovider tests/fuzz \
		tests/reliability/test_cli_fuzz.py

stability: $(VENV)/.installed-dev
	$(PY) tools/stability.py

soak: $(VENV)/.installed-dev
	$(PY) tools/soak.py

# The MNIST-1D paper's table (Greydanus & Kobak): its logistic regression, MLP, CNN and GRU trained
# with chainrule as in the paper, printed beside the paper's figures (tools/paper_mnist1d.py):
# the mean and range over the SEEDS of the initial weights.
.PHONY: paper
SEEDS ?= 0,1,2,3,4

paper: $(VENV)/.installed-demo
	$(PY) tools/paper_mnist1d.py --seeds $(SEEDS)

# A two-layer Transformer encoder learns to reverse sequences of 8 digits (tools/reverse_digits.py):
# held-out token accuracy, and its attention drawn to docs/img/attention_reverse.png.
.PHONY: reverse

reverse: $(VENV)/.installed-demo
	MPLBACKEND=Agg $(PY) tools/reverse_digits.py

# Data-parallel training's communication (docs/distributed.md): Allreduce time against payload
# under mpirun -np 2 and -np 4 (oversubscribed), one W2 step beside it, the α-β model's
# predicted efficiency at 8-64 ranks; draws docs/img/allreduce_cost.png.
.PHONY: allreduce-cost

allreduce-cost: $(VENV)/.installed-dev
	MPLBACKEND=Agg $(PY) tools/allreduce_cost.py
