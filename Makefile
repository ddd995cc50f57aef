# keybridge: one GNU Makefile (DESIGN.md "Components and layout").
#   make            build build/keybridge
#   make test       unit + integration tests, then the sanitizer build's tests
#   make run        build, initialise ./data if missing, serve on loopback
#   make deps       install missing Debian packages (apt-get as root)
#   make bench      benchmarks beside their same-run references
#   SANITIZE=address,undefined   build with ASan + UBSan (into build-san/)

PKGS    := openssl libevent libevent_openssl libevent_pthreads sqlite3 libpq jansson

# On a fresh machine the Debian packages must be there before the pkg-config
# lines below are expanded, and before any compiler runs (a prerequisite
# target would race the compilations under -j).  So the check runs while
# the Makefile is read, and installs what is missing (its output goes to
# the terminal).  `make deps`, `make clean` and `make help` skip it.
NODEPS_GOALS := deps clean help
ifeq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
else ifeq ($(KB_DEPS_CHECKED),)
DEPS_RC := $(shell scripts/deps.sh --check >/dev/null 2>&1 || scripts/deps.sh >&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error scripts/deps.sh could not install the Debian packages (see above))
endif
export KB_DEPS_CHECKED := 1
endif
CC      ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD   ?= build
SANFLAGS :=
else
BUILD   ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
WERROR  := $(if $(CI),-Werror,)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wimplicit-fallthrough \
           -Wshadow -Wno-unused-parameter $(WERROR) $(SANFLAGS) $(PKG_CFLAGS) \
           -I. -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread

LIB_SRC := $(wildcard ledger/*.c est/*.c ocsp/*.c) $(filter-out bridge/main.c,$(wildcard bridge/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB     := $(BUILD)/libkeybridge.a
BIN     := $(BUILD)/keybridge
UNIT_SRC := $(wildcard tests/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: all test unit integration sanitize run deps bench clean
all: $(BIN) $(TOOL_BIN)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/bridge/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(CMOCKA_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

unit: all $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

# `make integration T="foundation badinput"` runs some of them.
integration: all
	@KEYBRIDGE=$(abspath $(BIN)) TOOLS=$(abspath $(BUILD)/tools) scripts/run-integration.sh $(T)

# The sanitizer build runs the unit tests and the integration tests again
# under ASan + UBSan (a second tree, build-san/, so objects never mix).
sanitize:
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) --no-print-directory SANITIZE=address,undefined unit integration

test: unit integration
	@$(MAKE) --no-print-directory sanitize

run: all
	@scripts/run.sh $(abspath $(BIN))

bench: all $(BENCH_BIN)
	@KEYBRIDGE=$(abspath $(BIN)) BENCH=$(abspath $(BUILD)/bench) scripts/bench.sh

clean:
	rm -rf build build-san tests/out

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
