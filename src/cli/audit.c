/* Placeholder until the subcommand lands. */
#include "cli.h"

#include <stdio.h>

int cli_audit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "symbi-sandbox: 'audit' is not implemented yet\n");
	return 2;
}
