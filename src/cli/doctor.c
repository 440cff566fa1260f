/* Placeholder until the subcommand lands. */
#include "cli.h"

#include <stdio.h>

int cli_doctor(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "symbi-sandbox: 'doctor' is not implemented yet\n");
	return 2;
}
