# grove - the two commands: `make demo` and `make test`.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-asan test-ucontext test-valgrind bench fidelity chaos install clean

all: build

deps:
	@scripts/install-deps.sh

# The options are explicit so that a build directory configured differently
# before (say, without tests) is brought back to what these targets need.
build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DGROVE_BUILD_TESTS=ON \
	  -DGROVE_BUILD_EXAMPLES=ON -DGROVE_BUILD_BENCH=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Runs the demos: actor ping-pong, pipeline, supervision and skynet; the
# two-process ping-pong and the cluster; grove-top's view of a running node;
# the I/O demos; then the ported gevent tutorial programs.
demo: build
	@scripts/demo.sh $(BUILD)

# python3-gevent: the fidelity tests run grove's programs against real
# gevent (they are skipped without it).
test: build
	@scripts/install-deps.sh python3-gevent
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS)

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	@scripts/install-deps.sh
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DGROVE_SANITIZE=ON -DGROVE_WERROR=ON -DGROVE_BUILD_BENCH=OFF
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure --no-tests=error -j $(JOBS)

# The whole suite with the portable ucontext switch instead of the assembly.
test-ucontext:
	@scripts/install-deps.sh
	cmake -S . -B $(BUILD)-ucontext -DCMAKE_BUILD_TYPE=Debug -DGROVE_FORCE_UCONTEXT=ON -DGROVE_WERROR=ON -DGROVE_BUILD_BENCH=OFF
	cmake --build $(BUILD)-ucontext -j $(JOBS)
	cd $(BUILD)-ucontext && ctest --output-on-failure --no-tests=error -j $(JOBS)

# The hub's tests again under valgrind (memcheck), which follows the stack
# switches through the stacks grove registers with it.
test-valgrind: build
	@GROVE_DEPS_EXTRA=valgrind scripts/install-deps.sh
	@fail=0; for t in $(BUILD)/tests/hub_test_*; do \
	  echo "valgrind $$t"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=tests/valgrind.supp $$t >/dev/null || fail=1; \
	done; exit $$fail

# grove-bench beside its peers (Go, Erlang, CAF, gevent, raw libzmq, libuv):
# installs missing peers, runs everything, writes docs/benchmarks.md.
# `make bench ARGS=--quick` is the two-minute version.
bench: build
	GROVE_BENCH_CMD="make bench$(if $(filter-out build,$(BUILD)), BUILD=$(BUILD))$(if $(ARGS), ARGS=$(ARGS))" \
	  scripts/bench.sh $(BUILD) $(ARGS)

# grove against real gevent (tests/fidelity): N random programs (default
# 10000) run under both, compared line by line; divergences grouped by
# signature and shrunk. A new seed each time, printed; SEED=... repeats one.
# FIDELITY_ARGS passes more options to tests/fidelity/run.py (see --help).
fidelity: build
	@scripts/install-deps.sh python3-gevent
	/usr/bin/python3 tests/fidelity/run.py -n $(or $(N),10000) $(if $(SEED),--seed $(SEED)) \
	  --build $(BUILD) --work $(BUILD)/fidelity $(FIDELITY_ARGS)

# The chaos suite's long form (tests/chaos/README.md): supervisors, clusters
# and real network faults for DURATION seconds in all (default 600); the
# figures go to $(BUILD)/chaos/chaos-summary-<date>.txt. `make test` runs
# its bounded form (ctest -L chaos).
chaos: build
	tests/chaos/run.sh $(BUILD) $(or $(DURATION),600)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-ucontext
