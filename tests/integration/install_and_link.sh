#!/usr/bin/env bash
# `make install` honours PREFIX and DESTDIR, and a C program built against
# the installed headers and library (through pkg-config) runs code in a
# real sandbox: the library as a user of it sees it.
source "$(dirname "$0")/../lib.sh"
require "a Docker engine" "run scripts/setup" docker info
require "image symbi-test/busybox" "run scripts/setup" docker image inspect symbi-test/busybox:latest

WORK=$(mktemp -d /var/tmp/symbi-install.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
make -C "$ROOT" install PREFIX=/opt/symbi DESTDIR="$WORK/dest" >"$WORK/install.log" 2>&1
expect_eq "make install succeeds" 0 $?
P=$WORK/dest/opt/symbi
for f in include/symbi/sandbox.h lib/libsymbi-sandbox.a lib/libsymbi-sandbox.so \
	lib/pkgconfig/symbi-sandbox.pc bin/symbi-sandbox bin/symbi-sandbox-server share/man/man1/symbi-sandbox.1; do
	check "installed: $f" test -e "$P/$f"
done
check "pkg-config file names the prefix" grep -q '^prefix=/opt/symbi$' "$P/lib/pkgconfig/symbi-sandbox.pc"
check "man page renders" bash -c "MANWIDTH=80 man -l '$P/share/man/man1/symbi-sandbox.1' 2>/dev/null | grep -q 'symbi-sandbox run'"

cat >"$WORK/user.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <symbi/sandbox.h>

int main(void)
{
	symbi_error_t err;
	symbi_config_t *cfg = symbi_config_for_image("symbi-test/busybox:latest");
	if (!cfg || symbi_config_set(cfg, "max_execution_time", "30", &err) < 0)
		return 2;
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &err);
	if (!sb) {
		fprintf(stderr, "new: %s\n", err.message);
		return 3;
	}
	symbi_env_t *env = symbi_env_new();
	symbi_env_set(env, "WHO", "library user", &err);
	const char *code = "echo \"hello $WHO\"; exit 5";
	symbi_result_t *res = NULL;
	if (symbi_sandbox_execute(sb, code, strlen(code), env, &res, &err) < 0) {
		fprintf(stderr, "execute: %s\n", err.message);
		return 4;
	}
	printf("%s|%d|%s\n", res->stdout_data, res->exit_code, symbi_status_name(res->status));
	symbi_result_free(res);
	/* Invalid input: -1 with a message, nothing started. */
	symbi_env_t *bad = symbi_env_new();
	int rc = symbi_env_set(bad, "A=B", "x", &err);
	printf("bad-key:%d:%s\n", rc, strstr(err.message, "identifiers") ? "message" : "no-message");
	symbi_env_free(bad);
	symbi_env_free(env);
	symbi_sandbox_free(sb);
	symbi_config_free(cfg);
	return 0;
}
C
# DESTDIR is a staging root: pkg-config maps the .pc's paths into it.
export PKG_CONFIG_PATH=$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$WORK/dest
# The static archive by path, then its dependencies as pkg-config lists them.
cc -Wall -Werror -o "$WORK/user-static" "$WORK/user.c" $(pkg-config --cflags symbi-sandbox) \
	"$P/lib/libsymbi-sandbox.a" $(pkg-config --libs-only-l --static symbi-sandbox | sed 's/-lsymbi-sandbox//') \
	2>"$WORK/cc.log"
expect_eq "a program compiles against the installed header and static library" 0 $?
cc -Wall -Werror -o "$WORK/user-shared" "$WORK/user.c" $(pkg-config --cflags --libs symbi-sandbox) 2>>"$WORK/cc.log"
expect_eq "a program links against the shared library through pkg-config" 0 $?
want=$(printf 'hello library user\n|5|exited\nbad-key:-1:message')
expect_eq "static: runs code in a sandbox" "$want" "$("$WORK/user-static" 2>&1)"
expect_eq "shared: runs code in a sandbox" "$want" "$(LD_LIBRARY_PATH=$P/lib "$WORK/user-shared" 2>&1)"
check "shared: resolves the installed soname" bash -c "LD_LIBRARY_PATH=$P/lib ldd '$WORK/user-shared' | grep -q 'libsymbi-sandbox.so.0 => $P/lib'"
finish
