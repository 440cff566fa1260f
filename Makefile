# symbi-sandbox. `make` builds the library (static and shared) and the CLI;
# `make test` runs every test (see README); `make asan` builds the
# ASan+UBSan variant into build-asan/.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
# The library needs only LIB_PKGS (also in symbi-sandbox.pc.in); the CLI's
# servers add CLI_PKGS. libcurl is compiled against but not linked: live
# docker sandboxes load it when they start (docker_engine.c), so that its
# dependencies do not slow the start of every program linking the library.
LIB_PKGS := jansson libseccomp
CLI_PKGS := libmicrohttpd libcrypto
HEADER_PKGS := libcurl
PKGS := $(LIB_PKGS) $(CLI_PKGS)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(HEADER_PKGS))
LIB_LIBS := $(shell pkg-config --libs $(LIB_PKGS)) -lm
PKG_LIBS := $(shell pkg-config --libs $(PKGS))

VERSION := 0.1.0
SONAME := libsymbi-sandbox.so.0
WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
# -fvisibility=hidden: the shared library exports only what the public
# header marks SYMBI_API (and src/libsymbi-sandbox.map versions).
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen $(PKG_CFLAGS) \
	$(EXTRA_CFLAGS)
LDLIBS := $(PKG_LIBS) -lm

LIB_SRC := $(wildcard src/core/*.c) $(wildcard src/backends/*.c) $(wildcard src/backends/native/*.c)
# Two executables: symbi-sandbox (run, doctor; links only the library) and
# symbi-sandbox-server (serve, mcp, audit; exec'd by the first).
SERVER_CLI_SRC := src/cli/serve.c src/cli/mcp.c src/cli/audit.c src/cli/server_main.c
CLI_SRC := $(filter-out $(SERVER_CLI_SRC),$(wildcard src/cli/*.c))
SERVER_SRC := $(SERVER_CLI_SRC) src/cli/io.c $(wildcard src/server/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all clean install test unit integration asan check-unit fuzz
all: $(BUILD)/libsymbi-sandbox.a $(BUILD)/libsymbi-sandbox.so $(BUILD)/symbi-sandbox \
	$(BUILD)/symbi-sandbox-server

# -MMD: each object and test binary records every file it includes (a unit
# test that #includes a .c file is rebuilt when that file changes).
DEPFLAGS = -MMD -MP -MF $@.d
# Every header too: a tree built before the .d files existed (or with a
# header that moved) still rebuilds what a header change touches.
$(BUILD)/%.o: %.c $(wildcard include/symbi/*.h src/*/*.h src/*/*/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

# The seccomp allow list is compiled to BPF at build time, by a tool built
# from the same sources (see tools/seccomp_bpf_gen.c).
SECCOMP_GEN_OBJ := $(BUILD)/src/backends/native/seccomp.o $(BUILD)/src/backends/syscall_policy.o \
	$(BUILD)/src/core/error.o
$(BUILD)/tools/seccomp_bpf_gen: tools/seccomp_bpf_gen.c $(SECCOMP_GEN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $^ $(LIB_LIBS) $(LDFLAGS)
$(BUILD)/gen/seccomp_bpf.h: $(BUILD)/tools/seccomp_bpf_gen
	@mkdir -p $(dir $@)
	$< >$@.tmp && mv $@.tmp $@
$(BUILD)/src/backends/native/seccomp_prebuilt.o: $(BUILD)/gen/seccomp_bpf.h

$(BUILD)/libsymbi-sandbox.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

LIB_MAP := src/libsymbi-sandbox.map
# The objects carry the visibility flag: a tree built before it was added
# rebuilds rather than export everything under the map's symbi_* pattern.
$(LIB_OBJ): Makefile
$(BUILD)/libsymbi-sandbox.so: $(LIB_OBJ) $(LIB_MAP)
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined \
		-Wl,--version-script=$(LIB_MAP) -o $@ $(LIB_OBJ) $(LIB_LIBS) $(LDFLAGS)

# The executables link the static library so that they run from the build
# tree. symbi-sandbox also links jansson, libseccomp and libm statically
# (Debian's -dev packages ship the archives) when they are there: loading
# three shared objects was 0.3 ms of the 5 ms a `run true` takes, which
# made it 5-8% slower than bwrap; now it needs only libc.
CLI_ARCHIVES := $(foreach a,libjansson.a libseccomp.a,$(wildcard $(shell $(CC) -print-file-name=$(a))))
CLI_STATIC_LIBS := -Wl,-Bstatic -ljansson -lseccomp -lm -Wl,-Bdynamic
CLI_LIBS := $(if $(word 2,$(CLI_ARCHIVES)),$(CLI_STATIC_LIBS),$(LIB_LIBS))
$(BUILD)/symbi-sandbox: $(CLI_OBJ) $(BUILD)/libsymbi-sandbox.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CLI_LIBS) $(LDFLAGS)

$(BUILD)/symbi-sandbox-server: $(SERVER_OBJ) $(BUILD)/libsymbi-sandbox.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) $(LDFLAGS)

# The shared test headers (tests/unit/*.h) are recorded by -MMD too; named
# here for a tree built before the .d files.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsymbi-sandbox.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Isrc -o $@ $< $(BUILD)/libsymbi-sandbox.a $(LDLIBS) \
		$(shell pkg-config --libs cmocka) $(LDFLAGS)

# test_server compiles the server's sources in directly (also recorded by
# -MMD; named here for a tree built before the .d files).
$(BUILD)/tests/test_server: $(wildcard src/server/*.c src/server/*.h)

unit: $(UNIT_BIN)

check-unit: unit
	@set -e; for t in $(UNIT_BIN); do $$t; done

asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" all unit

# libFuzzer harnesses (tests/fuzz/fuzz_*.c) into build-fuzz/, with clang:
# the library and the server compiled with coverage and ASan+UBSan
# (fuzzer-no-link), each harness linked with libFuzzer's main. Run them with
# tests/integration/fuzz_smoke.sh (bounded, in CI) or bench/fuzz (hours).
FUZZ_BUILD := build-fuzz
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 $(WARN) -O1 -g $(FUZZ_SAN) -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD)/gen \
	$(PKG_CFLAGS)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(filter-out tests/fuzz/fuzz_files.c,$(FUZZ_SRC)))
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_SERVER_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(wildcard src/server/*.c))
fuzz: $(FUZZ_BIN)
# The seccomp BPF is the normal build's (it depends only on the architecture).
$(FUZZ_BUILD)/src/backends/native/seccomp_prebuilt.o: $(BUILD)/gen/seccomp_bpf.h
$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@
$(FUZZ_BUILD)/fuzz_files.o: tests/fuzz/fuzz_files.c
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(FUZZ_BUILD)/libsymbi-fuzz.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^
$(FUZZ_BUILD)/libsymbi-server-fuzz.a: $(FUZZ_SERVER_OBJ)
	rm -f $@
	ar rcs $@ $^
# Every harness links the server archive too: the linker takes only what a
# harness uses.
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/fuzz_files.o \
		$(FUZZ_BUILD)/libsymbi-server-fuzz.a $(FUZZ_BUILD)/libsymbi-fuzz.a
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(DEPFLAGS) -o $@ $< $(FUZZ_BUILD)/fuzz_files.o \
		$(FUZZ_BUILD)/libsymbi-server-fuzz.a $(FUZZ_BUILD)/libsymbi-fuzz.a $(LDLIBS)

test: all unit
	scripts/run-tests

install: all
	install -d $(DESTDIR)$(PREFIX)/include/symbi $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 include/symbi/*.h $(DESTDIR)$(PREFIX)/include/symbi/
	install -m 644 $(BUILD)/libsymbi-sandbox.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libsymbi-sandbox.so $(DESTDIR)$(PREFIX)/lib/libsymbi-sandbox.so.$(VERSION)
	ln -sf libsymbi-sandbox.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libsymbi-sandbox.so
	install -m 755 $(BUILD)/symbi-sandbox $(BUILD)/symbi-sandbox-server $(DESTDIR)$(PREFIX)/bin/
	install -m 644 docs/symbi-sandbox.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' symbi-sandbox.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/symbi-sandbox.pc

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
