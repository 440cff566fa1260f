/* Placeholder until the subcommand lands. */
#include "cli.h"

#include <stdio.h>

int cli_serve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "symbi-sandbox: 'serve' is not implemented yet\n");
	return 2;
}
