#!/usr/bin/env bash
# libsymbi-sandbox.so exports exactly the functions the public headers
# declare, each under the SYMBI_SANDBOX_1.0 version node: nothing internal
# (backends, helpers) is part of the ABI. The header's declarations are
# taken from the compiler (gcc -aux-info), not from a pattern over the text.
source "$(dirname "$0")/../lib.sh"
LIB=$ROOT/build/libsymbi-sandbox.so
require "build/libsymbi-sandbox.so" "run make" test -f "$LIB"
require "gcc (for -aux-info)" "apt-get install gcc" gcc --version
require "nm" "apt-get install binutils" nm --version

WORK=$(mktemp -d /var/tmp/symbi-exports.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

for h in "$ROOT"/include/symbi/*.h; do echo "#include <symbi/$(basename "$h")>"; done >"$WORK/all.c"
gcc -I"$ROOT/include" -aux-info "$WORK/aux" -fsyntax-only "$WORK/all.c"
expect_eq "the public headers compile" 0 $?
# Lines like: /* include/symbi/sandbox.h:48:NC */ extern int symbi_x (...);
# the name is the identifier before the first parenthesis (a parameter may
# be a function pointer: "void (*) (void *)").
grep -F "$ROOT/include/symbi/" "$WORK/aux" |
	sed -E 's/^[^(]*[ *]([A-Za-z_][A-Za-z0-9_]*) \(.*/\1/' | sort -u >"$WORK/declared"
check "the headers declare functions" test -s "$WORK/declared"

nm -D --defined-only "$LIB" | awk '$2 != "A" { print $3 }' >"$WORK/dynsym"
sed 's/@.*//' "$WORK/dynsym" | sort -u >"$WORK/exported"
diff -u "$WORK/declared" "$WORK/exported" >"$WORK/diff"
expect_eq "exported symbols are exactly the declared functions ($(wc -l <"$WORK/declared"))" "" \
	"$(grep '^[-+][^-+]' "$WORK/diff")"
expect_eq "every export is versioned SYMBI_SANDBOX_1.0" "" "$(grep -v '@@SYMBI_SANDBOX_1\.0$' "$WORK/dynsym")"
# libcurl (and its TLS, LDAP and Kerberos dependencies) is loaded by live
# docker sandboxes when they start: linked, it more than doubled the start
# of every program using the library (symbi-sandbox run: 12 ms, not 5).
expect_eq "the library does not link libcurl" "" \
	"$(readelf -d "$LIB" | grep NEEDED | grep -i curl)"
expect_eq "nor does the CLI" "" "$(readelf -d "$ROOT/build/symbi-sandbox" | grep NEEDED | grep -i curl)"
finish
