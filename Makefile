# Thin wrapper over CMake. `make run` and `make test` are the README's quick start.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local
# Warnings are errors in every build made here (CI runs these targets); a plain cmake leaves
# JWTD_WERROR off for distributors.
CMAKE_ARGS ?=
WERROR     := -DJWTD_WERROR=ON
SOAK_SECONDS ?= 180
SOAK_ARGS  ?=
SOAK_STORE ?= sqlite

.PHONY: all build deps run test bench soak asan fuzz lint install clean

all: build

deps:
	@scripts/deps.sh --check >/dev/null 2>&1 || scripts/deps.sh

# PREFIX is given to every install (--prefix), not only to the first configure: a build made
# by `make test` installs wherever the later `make install PREFIX=...` says.
$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(WERROR) $(CMAKE_ARGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	$(BUILD)/src/cli/jwtd serve $(RUN_ARGS)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# bench-algs.sh: the default key-alg's figures beside Node, Python and Rust verifiers (issue 11).
# bench-charts.sh: the PNG charts of docs/bench from bench.sh's and bench-server.sh's figures, and
# bench_cache the verified-token cache's hit rate against its memory (issue 11).
# bench-floor.sh: GET /me's CPU per request beside nginx and a minimal h2o server; bench-load.sh:
# logins against the Argon2 bound, GET /me p99 under login load, RSS at 10,000 idle connections
# (issue 11).
# bench-pg.sh: PostgreSQL beside SQLite and the revocation propagation delay (issue 9).
bench: deps build
	scripts/bench.sh $(BUILD)
	scripts/bench-algs.sh $(BUILD)
	scripts/bench-server.sh $(BUILD)
	scripts/bench-charts.sh $(BUILD)
	$(BUILD)/bench/bench_cache
	scripts/bench-floor.sh $(BUILD)
	scripts/bench-load.sh $(BUILD)
	scripts/bench-pg.sh $(BUILD)

# The long soak of jwtd serve (tests/soak): mixed traffic for SOAK_SECONDS on loopback, then
# lost-write and RSS checks. Its `jwtd serve` arguments are in tests/soak/CMakeLists.txt.
# SOAK_STORE=postgres: on a PostgreSQL server the soak starts (and stops) for the run.
soak: deps build
	sh $(BUILD)/tests/soak/soak.sh --store $(SOAK_STORE) --seconds $(SOAK_SECONDS) $(SOAK_ARGS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DJWTD_SANITIZE=ON -DJWTD_BENCH=OFF $(WERROR) $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DJWTD_FUZZ=ON -DJWTD_BENCH=OFF $(WERROR) $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

lint: deps build
	scripts/lint.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
