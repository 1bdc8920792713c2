# closer — one binary, layered sources under src/<layer>/, tests mirror them.
CC      ?= cc
VERSION := 0.1.0
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -DCLOSER_VERSION='"$(VERSION)"'
LDFLAGS ?=
LDLIBS  += -lm -lpthread
BUILD   ?= build

LIB_SRCS  := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/helpers/%)

.PHONY: all test unit asan tsan bench fuzz clean deps
all: closer

# Replace by rename: a running ./closer (a test's server) keeps its inode.
closer: $(BUILD)/closer
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/closer: $(BUILD)/src/main.o $(BUILD)/libcloser.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libcloser.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/lib/test.c $(BUILD)/libcloser.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< tests/lib/test.c $(BUILD)/libcloser.a $(LDLIBS)

$(BUILD)/helpers/%: tests/helpers/%.c $(BUILD)/libcloser.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcloser.a $(LDLIBS)

deps:
	@bash scripts/deps.sh

unit: $(UNIT_BINS)

# Every test: unit binaries, integration scripts (real sockets in private
# namespaces), the lab. Ends with "N passed, N failed".
test: deps closer $(UNIT_BINS) $(HELPER_BINS)
	@BUILD=$(BUILD) CLOSER=$(abspath closer) bash tests/run.sh

asan:
	$(MAKE) BUILD=build-asan CC=gcc CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build-asan/closer
	$(MAKE) BUILD=build-asan CC=gcc CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" asan-run

asan-run: $(UNIT_BINS) $(HELPER_BINS)
	@BUILD=$(BUILD) CLOSER=$(abspath $(BUILD)/closer) ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1 bash tests/run.sh

# ThreadSanitizer over the serve, load and exporter tests (tests/tsan.sh).
TSAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
tsan: closer $(HELPER_BINS)
	$(MAKE) BUILD=build-tsan CC=gcc CFLAGS="$(TSAN_FLAGS)" LDFLAGS="-fsanitize=thread" \
	  build-tsan/closer build-tsan/tests/test_server_conn build-tsan/tests/test_loop
	@BUILD=build-tsan bash tests/tsan.sh

bench: closer
	@bash bench/run.sh

fuzz:
	@bash tests/fuzz/build.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz closer

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
