/* symbi-sandbox-server: the `serve`, `mcp` and `audit` subcommands, exec'd by
 * symbi-sandbox with its own argv (see main.c for why they are apart). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	if (strcmp(cmd, "serve") == 0)
		return cli_serve(argc - 1, argv + 1);
	if (strcmp(cmd, "mcp") == 0)
		return cli_mcp(argc - 1, argv + 1);
	if (strcmp(cmd, "audit") == 0)
		return cli_audit(argc - 1, argv + 1);
	fprintf(stderr, "symbi-sandbox-server: expected serve, mcp or audit; run it as "
			"'symbi-sandbox serve|mcp|audit'\n");
	return 2;
}
