/* `symbi-sandbox mcp`: a Model Context Protocol server on stdin/stdout; the
 * protocol lives in src/server/mcp.c. */
#include "cli.h"
#include "../server/server.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void mcp_usage(FILE *out)
{
	fputs("Usage: symbi-sandbox mcp [OPTIONS]\n"
	      "\n"
	      "Serves the Model Context Protocol (JSON-RPC 2.0, protocol 2025-06-18) on\n"
	      "standard input and output until end of input. Tools: execute_code,\n"
	      "session_create, session_execute, session_write_file, session_read_file,\n"
	      "session_list_files, session_close.\n"
	      "\n"
	      "  -p, --policy FILE.json   defaults, hard maximums and what may be asked for\n"
	      "                           (the same file as 'serve --policy')\n"
	      "      --audit-key-file FILE\n"
	      "                           key the audit chain with HMAC-SHA-256 (a secret of at\n"
	      "                           least 16 bytes; verify with 'audit verify --key-file')\n"
	      "      --audit-log FILE     append a hash-chained JSON line per tool call\n"
	      "      --state-dir DIR      where session workspaces live: only DIR/symbi-sandbox\n"
	      "                           is used (refused if someone else's); default a\n"
	      "                           private temporary directory, removed at exit\n"
	      "  -b, --backend NAME       default backend (overrides the policy)\n"
	      "  -i, --image IMAGE        default image (overrides the policy)\n"
	      "  -h, --help               show this help\n",
	      out);
}

int cli_mcp(int argc, char **argv)
{
	enum { O_AUDIT = 256, O_STATE, O_AUDIT_KEY };
	static const struct option options[] = {
		{"policy", required_argument, NULL, 'p'},
		{"audit-log", required_argument, NULL, O_AUDIT},
		{"audit-key-file", required_argument, NULL, O_AUDIT_KEY},
		{"state-dir", required_argument, NULL, O_STATE},
		{"backend", required_argument, NULL, 'b'},
		{"image", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *policy_file = NULL, *audit = NULL, *audit_key = NULL, *state = NULL, *backend = NULL,
		   *image = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:b:i:h", options, NULL)) != -1) {
		switch (c) {
		case 'p': policy_file = optarg; break;
		case O_AUDIT: audit = optarg; break;
		case O_AUDIT_KEY: audit_key = optarg; break;
		case O_STATE: state = optarg; break;
		case 'b': backend = optarg; break;
		case 'i': image = optarg; break;
		case 'h': mcp_usage(stdout); return 0;
		default: mcp_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "symbi-sandbox mcp: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	srv_err_t err = {0};
	srv_policy_t *policy = srv_policy_load(policy_file, &err);
	if (!policy || srv_policy_override(policy, backend, image, &err) < 0) {
		fprintf(stderr, "symbi-sandbox mcp: %s\n", err.message);
		srv_policy_free(policy);
		return 2;
	}
	srv_policy_probe_backends(policy, "symbi-sandbox mcp");
	if (srv_policy_probe_default(policy, &err) < 0)
		fprintf(stderr, "symbi-sandbox mcp: warning: no backend can run sandboxes here; the "
			"default \"%s\" fails: %s\n", policy->default_backend, err.message);
	srv_service_t *svc = srv_service_new(policy, state, audit, audit_key, &err);
	if (!svc) {
		fprintf(stderr, "symbi-sandbox mcp: %s\n", err.message);
		srv_policy_free(policy);
		return 1;
	}
	int rc = srv_mcp_serve(svc);
	srv_service_free(svc);
	return rc;
}
