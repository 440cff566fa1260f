/* Placeholder until the subcommand lands. */
#include "cli.h"

#include <stdio.h>

int cli_mcp(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "symbi-sandbox: 'mcp' is not implemented yet\n");
	return 2;
}
