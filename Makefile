# sluice — plain GNU make.
#
#   make            build the release server and tools (build/release/)
#   make run        install missing Debian packages, build, start sluiced
#   make test       install test dependencies, build with ASan+UBSan, run
#                   every test, end with "N passed, N failed"
#   make bench      build optimised and run the benchmarks (bench/run.sh)
#
# Sources are found by wildcard: a new .c file under src/ is part of the
# server, under tests/unit/ part of the unit-test binary, under
# tests/helpers/ its own helper program, under bench/ its own benchmark.

CC      ?= cc
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wimplicit-fallthrough
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(WARN) -g -fno-omit-frame-pointer \
           -Isrc -Iinclude -Itests/unit -MMD -MP
ifdef CI
CFLAGS_BASE += -Werror
endif
LDLIBS  := -lpthread

MODE    ?= release
ifeq ($(MODE),fuzz)
CFLAGS_MODE := -O1 -fsanitize=address,undefined
LDFLAGS_MODE := -fsanitize=address,undefined
else ifeq ($(MODE),asan)
CFLAGS_MODE := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_MODE := -fsanitize=address,undefined
else
CFLAGS_MODE := -O2
LDFLAGS_MODE :=
endif
CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_MODE) $(EXTRA_CFLAGS)
LDFLAGS := $(LDFLAGS_MODE) $(EXTRA_LDFLAGS)

B       := build/$(MODE)

rwildcard = $(foreach d,$(wildcard $(1:=/*)),$(call rwildcard,$d,$2) $(filter $(subst *,%,$2),$d))

SRC      := $(filter-out src/main.c,$(call rwildcard,src,*.c))
OBJ      := $(SRC:%.c=$(B)/%.o)
UNIT_SRC := $(call rwildcard,tests/unit,*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(B)/%.o)
HELPERS  := $(patsubst tests/helpers/%.c,$(B)/helpers/%,$(wildcard tests/helpers/*.c))
BENCHES  := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
TOOLS    := $(patsubst tools/%.c,$(B)/tools/%,$(wildcard tools/*.c))
FUZZERS  := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

# Extra libraries for individual programs: LIBS_<name> = ...
LIBS_kafka_load := -lrdkafka

.PHONY: all build fuzz benches run test test-build bench clean deps-run deps-test
all: build
build: $(B)/sluiced $(HELPERS) $(TOOLS) $(FUZZERS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(B)/libsluiced.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/sluiced: $(B)/src/main.o $(B)/libsluiced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test-unit: $(UNIT_OBJ) $(B)/libsluiced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/helpers/%: $(B)/tests/helpers/%.o $(B)/libsluiced.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LIBS_$*)

$(B)/bench/%: $(B)/bench/%.o $(B)/libsluiced.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LIBS_$*)

# Fuzz targets: corpus replayers in the normal build; `make fuzz` builds
# real libFuzzer binaries with clang.
FUZZ_SUPPORT = $(B)/tests/fuzz/front_harness.o $(B)/tests/unit/net/memconn.o
$(B)/fuzz/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/replay_main.o $(FUZZ_SUPPORT) $(B)/libsluiced.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz:
	$(MAKE) MODE=fuzz CC=clang EXTRA_CFLAGS="-fsanitize=fuzzer-no-link" \
		$(patsubst tests/fuzz/%.c,build/fuzz/lf/%,$(wildcard tests/fuzz/fuzz_*.c))

build/fuzz/lf/%: build/fuzz/tests/fuzz/%.o $(FUZZ_SUPPORT) build/fuzz/libsluiced.a
	@mkdir -p $(dir $@)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

$(B)/tools/%: $(B)/tools/%.o $(B)/libsluiced.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LIBS_$*)

run: deps-run
	$(MAKE) MODE=release build
	mkdir -p data
	./build/release/sluiced --data-dir=./data

deps-run:
	@scripts/deps.sh run

deps-test:
	@scripts/deps.sh test

test-build:
	$(MAKE) MODE=asan build build/asan/test-unit

test: deps-test
	$(MAKE) test-build
	tests/run.sh

benches: $(BENCHES)

bench: deps-test
	$(MAKE) MODE=release build benches
	bench/run.sh

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(B)/src/main.d $(HELPERS:$(B)/helpers/%=$(B)/tests/helpers/%.d)
