# examples/device/device.mk: the device-side verifier (issue 15), included
# by the top Makefile.  kbv.c and kbverify.c use libsodium only.
#   $(BUILD)/tools/kbverify   the command (built by `make`)
#   make device-test          the fuzz corpus once, as a regression test
#   make fuzz                 libFuzzer + ASan for FUZZ_SECONDS (60)
DEVICE_SRC   := examples/device/kbv.c examples/device/kbverify.c
DEVICE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wshadow \
                 -Wimplicit-fallthrough $(WERROR) $(SANFLAGS) -O2 -g \
                 $(shell pkg-config --cflags libsodium)
DEVICE_LIBS  := $(shell pkg-config --libs libsodium)
KBVERIFY     := $(BUILD)/tools/kbverify
FUZZ_DRIVER  := $(BUILD)/tools/fuzz_bundle
FUZZ_BIN     := $(BUILD)/fuzz/fuzz_bundle
FUZZ_CORPUS  := examples/device/corpus
FUZZ_SECONDS ?= 60

all: $(KBVERIFY)

$(KBVERIFY): $(DEVICE_SRC) examples/device/kbv.h
	@mkdir -p $(dir $@)
	$(CC) $(DEVICE_CFLAGS) $(LDFLAGS) -o $@ $(DEVICE_SRC) $(DEVICE_LIBS)

$(FUZZ_DRIVER): examples/device/kbv.c examples/device/fuzz_bundle.c examples/device/kbv.h
	@mkdir -p $(dir $@)
	$(CC) $(DEVICE_CFLAGS) -DKBV_FUZZ_MAIN $(LDFLAGS) -o $@ \
	    examples/device/fuzz_bundle.c $(DEVICE_LIBS)

$(FUZZ_BIN): examples/device/kbv.c examples/device/fuzz_bundle.c examples/device/kbv.h
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	    $(shell pkg-config --cflags libsodium) -o $@ \
	    examples/device/fuzz_bundle.c $(DEVICE_LIBS)

.PHONY: device-test fuzz
device-test: $(FUZZ_DRIVER)
	@$(FUZZ_DRIVER) $(wildcard $(FUZZ_CORPUS)/*)

# New findings go to $(BUILD)/fuzz/new (copy the useful ones into the corpus).
fuzz: $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/new
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=$$((128 * 1024)) \
	    $(BUILD)/fuzz/new $(FUZZ_CORPUS)
