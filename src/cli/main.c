/* symbi-sandbox: the command-line face of libsymbi-sandbox. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include <symbi/sandbox.h>

static void usage(FILE *out)
{
	fputs("Usage: symbi-sandbox COMMAND [OPTIONS]\n"
	      "\n"
	      "Run untrusted code in an isolated sandbox with hard limits.\n"
	      "\n"
	      "Commands:\n"
	      "  run      execute code in a sandbox (see 'symbi-sandbox run --help')\n"
	      "  doctor   report what this host offers and which backends work\n"
	      "  serve    serve the HTTP/JSON API\n"
	      "  mcp      serve the Model Context Protocol over stdio\n"
	      "  audit    verify an audit log ('audit verify FILE')\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help     show this help\n"
	      "  -V, --version  show the version\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("symbi-sandbox %s\n", SYMBI_VERSION);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{"run", cli_run},     {"doctor", cli_doctor}, {"serve", cli_serve},
		{"mcp", cli_mcp},     {"audit", cli_audit},
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "symbi-sandbox: unknown command '%s' (try --help)\n", cmd);
	return 2;
}
