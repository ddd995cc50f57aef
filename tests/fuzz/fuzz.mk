# tests/fuzz/fuzz.mk: the libFuzzer targets (issue 16), included by the top
# Makefile.  One executable per parser of untrusted input, build/fuzz/
# fuzz_<parser>, from tests/fuzz/fuzz_<parser>.c linked against the
# project's objects compiled again with clang under ASan + UBSan into
# build/fuzz/obj/ (never mixed with gcc's build/ or build-san/).
#   make fuzz-build            build every target
#   make fuzz                  each target for FUZZ_SECONDS (60), two at a time
#   make fuzz-test             each target over its corpus, then
#                              FUZZ_TEST_SECONDS (20) of fuzzing, two at a
#                              time (part of `make test`)
#   FUZZ="csr entry"           only these targets
# Seeds: tests/fuzz/corpus/<parser>/ (tests/fuzz/seeds.sh remakes the
# generated ones); what fuzzing finds goes to build/fuzz/new/<parser>/.
FUZZ_DIR      := build/fuzz
FUZZ_CC       := clang
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer
FUZZ_CFLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
                 $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -I. -MMD -MP
# fuzz_strict.c drives bridge/http/strict.c (issue 16's strict framing,
# another branch): built once that file is there.
FUZZ_SRC      := $(sort $(wildcard tests/fuzz/fuzz_*.c))
ifeq ($(wildcard bridge/http/strict.c),)
FUZZ_SRC      := $(filter-out tests/fuzz/fuzz_strict.c,$(FUZZ_SRC))
endif
FUZZ_TARGETS  := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%) bundle
FUZZ          ?= $(FUZZ_TARGETS)
FUZZ_OBJ      := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_DIR)/obj/dashboard_files.o
FUZZ_LIB      := $(FUZZ_DIR)/libkeybridge.a
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS ?= 20
FUZZ_JOBS         ?= 2

.PHONY: fuzz fuzz-build fuzz-test

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/dashboard_files.o: $(DASH_GEN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS)

# The device's verifier is one file of its own (examples/device/).
$(FUZZ_DIR)/fuzz_bundle: examples/device/kbv.c examples/device/fuzz_bundle.c examples/device/kbv.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer \
	    $(shell pkg-config --cflags libsodium) -o $@ \
	    examples/device/fuzz_bundle.c $(DEVICE_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ:%=$(FUZZ_DIR)/fuzz_%)
	@FUZZ_DIR=$(FUZZ_DIR) scripts/fuzz-run.sh $(FUZZ_JOBS) $(FUZZ_SECONDS) $(FUZZ)

fuzz-test: $(FUZZ:%=$(FUZZ_DIR)/fuzz_%)
	@FUZZ_DIR=$(FUZZ_DIR) scripts/fuzz-run.sh $(FUZZ_JOBS) $(FUZZ_TEST_SECONDS) $(FUZZ)
