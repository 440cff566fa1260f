/* symbi-sandbox: the command-line face of libsymbi-sandbox.
 *
 * `run` and `doctor` live in this binary, which links only the library, so
 * that a run starts as fast as the sandbox allows. The servers (`serve`,
 * `mcp`, `audit`) need libmicrohttpd and libcrypto, whose loading alone cost
 * ~4 ms; they live in symbi-sandbox-server, installed next to this binary,
 * which we exec. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <symbi/sandbox.h>

static void usage(FILE *out)
{
	fputs("Usage: symbi-sandbox COMMAND [OPTIONS]\n"
	      "\n"
	      "Run untrusted code in an isolated sandbox with hard limits.\n"
	      "\n"
	      "Commands:\n"
	      "  run      execute code in a sandbox (see 'symbi-sandbox run --help')\n"
	      "  shell    an interactive shell in a live sandbox\n"
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

#define SERVER_BINARY "symbi-sandbox-server"

/* Execs the server binary found beside our own executable with our argv. */
static int exec_server(char **argv)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - sizeof(SERVER_BINARY) - 1);
	char *slash = n > 0 ? memrchr(path, '/', (size_t)n) : NULL;
	if (!slash) {
		fprintf(stderr, "symbi-sandbox: cannot locate this executable: %s\n", strerror(errno));
		return CLI_EXIT_SANDBOX_FAILED;
	}
	strcpy(slash + 1, SERVER_BINARY);
	execv(path, argv);
	fprintf(stderr, "symbi-sandbox: cannot run %s (it is built and installed next to "
			"symbi-sandbox): %s\n", path, strerror(errno));
	return CLI_EXIT_SANDBOX_FAILED;
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
	if (strcmp(cmd, "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(cmd, "shell") == 0)
		return cli_shell(argc - 1, argv + 1);
	if (strcmp(cmd, "doctor") == 0)
		return cli_doctor(argc - 1, argv + 1);
	if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "mcp") == 0 || strcmp(cmd, "audit") == 0)
		return exec_server(argv);
	fprintf(stderr, "symbi-sandbox: unknown command '%s' (try --help)\n", cmd);
	return 2;
}
