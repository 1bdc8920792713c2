# closer — one binary, layered sources under src/<layer>/, tests mirror them.
CC      ?= cc
# The release number; a tagged checkout says more (see "Releases" in CHANGELOG.md).
VERSION := 0.1.0
# `closer --version`: `git describe` of a release tag vMAJOR.MINOR.PATCH
# (0.1.0-3-gabc1234 three commits after v0.1.0); VERSION+gHASH in a checkout
# without a tag; VERSION alone outside git (a release tarball).
GIT_DESCRIBE := $(if $(wildcard .git),$(shell git describe --tags --match 'v[0-9]*' --dirty --always 2>/dev/null))
FULL_VERSION := $(if $(GIT_DESCRIBE),$(if $(filter v%,$(GIT_DESCRIBE)),$(patsubst v%,%,$(GIT_DESCRIBE)),$(VERSION)+g$(GIT_DESCRIBE)),$(VERSION))
# CPPFLAGS, CFLAGS and LDFLAGS from the environment or the command line are
# kept (a packager's -D_FORTIFY_SOURCE, -fstack-protector, -Wl,-z,relro);
# ours are added after them. -Werror is for the development build only:
# packagers build with `make WERROR=` (debian/rules does).
CFLAGS  ?= -O2 -g
WERROR  ?= -Werror
override CPPFLAGS += -D_GNU_SOURCE -Isrc -DCLOSER_VERSION='"$(FULL_VERSION)"'
override CFLAGS += -std=c11 -Wall -Wextra $(WERROR)
LDFLAGS ?=
LDLIBS  += -lssl -lcrypto -lnghttp2 -lm -lpthread
BUILD   ?= build

LIB_SRCS  := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/helpers/%)

.PHONY: all test unit asan tsan bench fuzz coverage clean deps doc install uninstall version FORCE
all: closer doc

# Replace by rename: a running ./closer (a test's server) keeps its inode.
closer: $(BUILD)/closer
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/closer: $(BUILD)/src/main.o $(BUILD)/libcloser.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libcloser.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c | $(BUILD)/builddeps.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# main.c prints the version: rebuild it when the version changes, only then.
$(BUILD)/src/main.o: $(BUILD)/version.stamp
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(FULL_VERSION)' | cmp -s - $@ || echo '$(FULL_VERSION)' > $@

TEST_LIB := tests/lib/test.c tests/lib/canned.c
$(BUILD)/tests/%: tests/unit/%.c $(TEST_LIB) tests/lib/canned.h $(BUILD)/libcloser.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -Itests/lib -o $@ $< $(TEST_LIB) $(BUILD)/libcloser.a $(LDLIBS)

$(BUILD)/helpers/%: tests/helpers/%.c $(BUILD)/libcloser.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcloser.a $(LDLIBS)

# OpenSSL and libnghttp2 headers: installed through apt-get on a fresh machine
# (scripts/builddeps.sh), checked once per build directory.
$(BUILD)/builddeps.stamp: scripts/builddeps.sh
	@sh scripts/builddeps.sh
	@mkdir -p $(dir $@) && touch $@

deps:
	@bash scripts/deps.sh

# Man pages and shell completion, generated from the binary's --help (the one
# source; tests/integration/install.sh checks them against the option tables).
doc: $(BUILD)/man/closer.1 $(BUILD)/completion/closer

$(BUILD)/man/closer.1: $(BUILD)/closer scripts/mkman.sh scripts/helpparse.awk scripts/help2roff.awk \
  $(BUILD)/docdir.stamp $(wildcard docs/*.md)
	sh scripts/mkman.sh $(BUILD)/closer $(BUILD)/man '$(FULL_VERSION)' '$(DOCDIR)'

# The pages name where the docs are installed: remade when DOCDIR changes.
$(BUILD)/docdir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(DOCDIR)' | cmp -s - $@ || echo '$(DOCDIR)' > $@

$(BUILD)/completion/closer: $(BUILD)/closer scripts/mkcomp.sh scripts/helpparse.awk scripts/helpopts.awk
	sh scripts/mkcomp.sh $(BUILD)/closer $(BUILD)/completion

# make install [PREFIX=/usr/local] [DESTDIR=staging]; packagers set the
# directories below (debian/rules does).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
DOCDIR      ?= $(DATADIR)/doc/closer
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
CONTRIBDIR  ?= $(DATADIR)/closer
UNITDIR     ?= $(PREFIX)/lib/systemd/system
INSTALL     ?= install
CONTRIB     := $(filter-out %.in,$(wildcard contrib/*.*))

install: closer doc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) \
	  $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(CONTRIBDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 closer $(DESTDIR)$(BINDIR)/closer
	$(INSTALL) -m 644 $(BUILD)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 $(BUILD)/completion/closer $(DESTDIR)$(BASHCOMPDIR)/closer
	$(INSTALL) -m 644 $(BUILD)/completion/_closer $(DESTDIR)$(ZSHCOMPDIR)/_closer
	$(INSTALL) -m 644 $(CONTRIB) $(DESTDIR)$(CONTRIBDIR)/
	$(INSTALL) -m 644 README.md CHANGELOG.md $(wildcard docs/*.md) $(DESTDIR)$(DOCDIR)/
	sed 's|@BINDIR@|$(BINDIR)|g' contrib/closer-exporter.service.in > $(BUILD)/closer-exporter.service
	$(INSTALL) -m 644 $(BUILD)/closer-exporter.service $(DESTDIR)$(UNITDIR)/closer-exporter.service

# The version closer --version prints (tests compare the two).
version:
	@echo '$(FULL_VERSION)'

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/closer $(DESTDIR)$(MANDIR)/man1/closer.1 $(DESTDIR)$(MANDIR)/man1/closer-*.1 \
	  $(DESTDIR)$(BASHCOMPDIR)/closer $(DESTDIR)$(ZSHCOMPDIR)/_closer $(DESTDIR)$(UNITDIR)/closer-exporter.service
	rm -rf $(DESTDIR)$(CONTRIBDIR) $(DESTDIR)$(DOCDIR)

unit: $(UNIT_BINS)

# Every test: unit binaries, integration scripts (real sockets in private
# namespaces), the lab. Ends with "N passed, N failed".
test: deps closer doc $(UNIT_BINS) $(HELPER_BINS)
	@BUILD=$(BUILD) CLOSER=$(abspath closer) bash tests/run.sh

asan:
	$(MAKE) BUILD=build-asan CC=gcc CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build-asan/closer
	$(MAKE) BUILD=build-asan CC=gcc CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" asan-run

asan-run: $(UNIT_BINS) $(HELPER_BINS) doc
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

# Line coverage of src/ by the unit tests, per folder (gcovr; build-cov/).
coverage:
	@bash scripts/coverage.sh build-cov

clean:
	rm -rf build build-asan build-tsan build-fuzz build-cov closer

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
