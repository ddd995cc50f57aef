# examples/device/device.mk: the device-side verifier (issue 15), included
# by the top Makefile.  kbv.c and kbverify.c use libsodium only.
#   $(BUILD)/tools/kbverify   the command (built by `make`)
#   make device-test          the fuzz corpus once, as a regression test
#   build/fuzz/fuzz_bundle    its libFuzzer target (tests/fuzz/fuzz.mk)
DEVICE_SRC   := examples/device/kbv.c examples/device/kbverify.c
DEVICE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wshadow \
                 -Wimplicit-fallthrough $(WERROR) $(SANFLAGS) -O2 -g \
                 $(shell pkg-config --cflags libsodium)
DEVICE_LIBS  := $(shell pkg-config --libs libsodium)
KBVERIFY     := $(BUILD)/tools/kbverify
FUZZ_DRIVER  := $(BUILD)/tools/fuzz_bundle
FUZZ_CORPUS  := examples/device/corpus

all: $(KBVERIFY)

$(KBVERIFY): $(DEVICE_SRC) examples/device/kbv.h
	@mkdir -p $(dir $@)
	$(CC) $(DEVICE_CFLAGS) $(LDFLAGS) -o $@ $(DEVICE_SRC) $(DEVICE_LIBS)

$(FUZZ_DRIVER): examples/device/kbv.c examples/device/fuzz_bundle.c examples/device/kbv.h
	@mkdir -p $(dir $@)
	$(CC) $(DEVICE_CFLAGS) -DKBV_FUZZ_MAIN $(LDFLAGS) -o $@ \
	    examples/device/fuzz_bundle.c $(DEVICE_LIBS)

.PHONY: device-test
device-test: $(FUZZ_DRIVER)
	@$(FUZZ_DRIVER) $(wildcard $(FUZZ_CORPUS)/*)
