/* `symbi-sandbox audit verify FILE`: checks an audit log's hash chain. */
#include "cli.h"
#include "../server/server.h"

#include <stdio.h>
#include <string.h>

int cli_audit(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		puts("Usage: symbi-sandbox audit verify FILE\n"
		     "\n"
		     "Checks the hash chain of an audit log written by 'serve --audit-log' or\n"
		     "'mcp --audit-log'. Exit status 0 if intact, 1 if the chain is broken\n"
		     "(the first bad line is named), 2 on usage errors.");
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "verify") != 0) {
		fputs("Usage: symbi-sandbox audit verify FILE\n", stderr);
		return 2;
	}
	char msg[512];
	long n = srv_audit_verify(argv[2], msg, sizeof(msg));
	if (n < 0) {
		fprintf(stderr, "symbi-sandbox audit: %s: %s\n", argv[2], msg);
		return 1;
	}
	printf("%s: %s\n", argv[2], msg);
	return 0;
}
