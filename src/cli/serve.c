/* `symbi-sandbox serve`: options -> policy, tokens and service; the HTTP face
 * lives in src/server/http.c. */
#include "cli.h"
#include "../server/server.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void serve_usage(FILE *out)
{
	fputs("Usage: symbi-sandbox serve [OPTIONS]\n"
	      "\n"
	      "Serves the HTTP/JSON API (see docs/openapi.json) until SIGTERM or SIGINT.\n"
	      "\n"
	      "  -l, --listen HOST:PORT   address to listen on (127.0.0.1:8080); port 0 picks one\n"
	      "  -p, --policy FILE.json   defaults, hard maximums and what clients may ask for\n"
	      "      --token-file FILE    bearer tokens, one per line: TOKEN or NAME TOKEN\n"
	      "                           (also: SYMBI_SANDBOX_TOKENS=tok1,tok2); required\n"
	      "                           when listening beyond loopback\n"
	      "      --audit-key-file FILE\n"
	      "                           key the audit chain with HMAC-SHA-256 (a secret of at\n"
	      "                           least 16 bytes; verify with 'audit verify --key-file')\n"
	      "      --audit-log FILE     append a hash-chained JSON line per request\n"
	      "      --state-dir DIR      where session workspaces live: only DIR/symbi-sandbox\n"
	      "                           is used (refused if someone else's); default a\n"
	      "                           private temporary directory, removed at exit\n"
	      "  -b, --backend NAME       default backend (overrides the policy; allowed too)\n"
	      "  -i, --image IMAGE        default image (overrides the policy)\n"
	      "      --max-running N      executions at once (policy max_running)\n"
	      "      --max-queued N       executions waiting; beyond it: 429 (policy max_queued)\n"
	      "      --shutdown-grace S   on SIGTERM, let executions finish for S seconds (10)\n"
	      "      --ready-file FILE    write the port there once listening\n"
	      "      --max-connections N  connections at once, all clients together (256)\n"
	      "      --max-connections-per-ip N\n"
	      "                           connections at once from one address (64)\n"
	      "      --header-timeout S   seconds a connection has to send a complete request\n"
	      "                           head, from its start or its previous answer (10)\n"
	      "      --allow-origin ORIGIN\n"
	      "                           without tokens, accept requests carrying this Origin\n"
	      "                           header (repeatable; by default any Origin is refused)\n"
	      "      --e2b-listen HOST:PORT\n"
	      "                           also serve E2B's API (control and data plane on one\n"
	      "                           port: E2B_API_URL = E2B_SANDBOX_URL = http://HOST:PORT)\n"
	      "                           for the official E2B SDKs; API keys are the token\n"
	      "                           file's e2b_<hex> tokens\n"
	      "      --e2b-ready-file FILE\n"
	      "                           write the E2B port there once listening\n"
	      "      --print-routes       print every route and exit\n"
	      "  -h, --help               show this help\n",
	      out);
}

/* Reads tokens ("TOKEN" or "NAME TOKEN" per line, # comments) from a file and
 * SYMBI_SANDBOX_TOKENS (comma-separated). */
static int load_tokens(const char *file, char ***tokens, char ***names)
{
	size_t n = 0, cap = 8;
	char **t = calloc(cap + 1, sizeof(char *)), **nm = calloc(cap + 1, sizeof(char *));
	if (!t || !nm)
		return -1;
	char *text = NULL;
	size_t len = 0;
	if (file && !(text = cli_read_file(file, &len))) {
		perror(file);
		return -1;
	}
	struct stat st;
	if (file && stat(file, &st) == 0 && (st.st_mode & 077))
		fprintf(stderr, "symbi-sandbox serve: warning: %s is readable by other users "
			"(chmod 600 it)\n", file);
	const char *env = getenv("SYMBI_SANDBOX_TOKENS");
	char *envcopy = env ? strdup(env) : NULL;
	for (int pass = 0; pass < 2; pass++) {
		char *buf = pass == 0 ? text : envcopy;
		const char *sep = pass == 0 ? "\n" : ",";
		char *save = NULL;
		for (char *line = buf ? strtok_r(buf, sep, &save) : NULL; line;
		     line = strtok_r(NULL, sep, &save)) {
			while (*line == ' ' || *line == '\t')
				line++;
			size_t l = strlen(line);
			while (l && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
				line[--l] = '\0';
			if (!l || line[0] == '#')
				continue;
			char *name = NULL, *tok = line;
			char *space = strpbrk(line, " \t");
			if (space && pass == 0) {
				*space = '\0';
				name = line;
				tok = space + 1;
				while (*tok == ' ' || *tok == '\t')
					tok++;
			}
			if (strlen(tok) < 16) {
				fprintf(stderr, "symbi-sandbox serve: a token is shorter than 16 "
					"characters; use long random tokens (openssl rand -hex 32)\n");
				return -1;
			}
			if (n == cap) {
				cap *= 2;
				char **t2 = realloc(t, (cap + 1) * sizeof(char *));
				char **n2 = t2 ? realloc(nm, (cap + 1) * sizeof(char *)) : NULL;
				if (!t2 || !n2)
					return -1;
				t = t2;
				nm = n2;
			}
			char sha[65], label[80];
			srv_sha256_hex(tok, strlen(tok), sha);
			snprintf(label, sizeof(label), "token:%.12s", sha);
			t[n] = strdup(tok);
			nm[n] = strdup(name ? name : label);
			n++;
			t[n] = nm[n] = NULL;
		}
	}
	free(text);
	free(envcopy);
	if (n == 0) {
		free(t);
		free(nm);
		t = nm = NULL;
		if (file) {
			fprintf(stderr, "symbi-sandbox serve: %s holds no token\n", file);
			return -1;
		}
	}
	*tokens = t;
	*names = nm;
	return 0;
}

int cli_serve(int argc, char **argv)
{
	enum { O_TOKEN_FILE = 256, O_AUDIT, O_STATE, O_MAXRUN, O_MAXQ, O_GRACE, O_READY, O_ROUTES,
	       O_MAXCONN, O_MAXCONN_IP, O_HEADER_TIMEOUT, O_ORIGIN, O_AUDIT_KEY, O_E2B,
	       O_E2B_READY };
	static const struct option options[] = {
		{"listen", required_argument, NULL, 'l'},
		{"policy", required_argument, NULL, 'p'},
		{"token-file", required_argument, NULL, O_TOKEN_FILE},
		{"audit-log", required_argument, NULL, O_AUDIT},
		{"audit-key-file", required_argument, NULL, O_AUDIT_KEY},
		{"state-dir", required_argument, NULL, O_STATE},
		{"backend", required_argument, NULL, 'b'},
		{"image", required_argument, NULL, 'i'},
		{"max-running", required_argument, NULL, O_MAXRUN},
		{"max-queued", required_argument, NULL, O_MAXQ},
		{"shutdown-grace", required_argument, NULL, O_GRACE},
		{"ready-file", required_argument, NULL, O_READY},
		{"print-routes", no_argument, NULL, O_ROUTES},
		{"max-connections", required_argument, NULL, O_MAXCONN},
		{"max-connections-per-ip", required_argument, NULL, O_MAXCONN_IP},
		{"header-timeout", required_argument, NULL, O_HEADER_TIMEOUT},
		{"allow-origin", required_argument, NULL, O_ORIGIN},
		{"e2b-listen", required_argument, NULL, O_E2B},
		{"e2b-ready-file", required_argument, NULL, O_E2B_READY},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *listen = "127.0.0.1:8080", *policy_file = NULL, *token_file = NULL;
	const char *e2b = NULL, *e2b_ready = NULL;
	const char *audit = NULL, *audit_key = NULL, *state = NULL, *backend = NULL, *image = NULL, *ready = NULL;
	long max_running = -1, max_queued = -1, grace = 10;
	long max_conn = 256, max_conn_ip = 64, header_timeout = 10;
	char *origins[33] = {0};
	size_t n_origins = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:p:b:i:h", options, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'l': listen = optarg; break;
		case 'p': policy_file = optarg; break;
		case O_TOKEN_FILE: token_file = optarg; break;
		case O_AUDIT: audit = optarg; break;
		case O_AUDIT_KEY: audit_key = optarg; break;
		case O_STATE: state = optarg; break;
		case 'b': backend = optarg; break;
		case 'i': image = optarg; break;
		case O_READY: ready = optarg; break;
		case O_E2B: e2b = optarg; break;
		case O_E2B_READY: e2b_ready = optarg; break;
		case O_ORIGIN:
			if (n_origins == sizeof(origins) / sizeof(origins[0]) - 1) {
				fprintf(stderr, "symbi-sandbox serve: at most 32 --allow-origin\n");
				return 2;
			}
			origins[n_origins++] = optarg;
			break;
		case O_MAXRUN:
		case O_MAXQ:
		case O_GRACE:
		case O_MAXCONN:
		case O_MAXCONN_IP:
		case O_HEADER_TIMEOUT: {
			long v = strtol(optarg, &end, 10);
			bool positive = c != O_MAXQ && c != O_GRACE;
			if (*end || end == optarg || v < 0 || v > 100000 || (positive && v == 0)) {
				fprintf(stderr, "symbi-sandbox serve: invalid number \"%s\"\n", optarg);
				return 2;
			}
			*(c == O_MAXRUN	    ? &max_running
			  : c == O_MAXQ	    ? &max_queued
			  : c == O_GRACE    ? &grace
			  : c == O_MAXCONN  ? &max_conn
			  : c == O_MAXCONN_IP ? &max_conn_ip
					      : &header_timeout) = v;
			break;
		}
		case O_ROUTES: srv_http_print_routes(); return 0;
		case 'h': serve_usage(stdout); return 0;
		default: serve_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "symbi-sandbox serve: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	srv_err_t err = {0};
	srv_policy_t *policy = srv_policy_load(policy_file, &err);
	if (!policy) {
		fprintf(stderr, "symbi-sandbox serve: %s\n", err.message);
		return 2;
	}
	if (srv_policy_override(policy, backend, image, &err) < 0) {
		fprintf(stderr, "symbi-sandbox serve: %s\n", err.message);
		srv_policy_free(policy);
		return 1;
	}
	if (max_running > 0)
		policy->max_running = (size_t)max_running;
	if (max_queued >= 0)
		policy->max_queued = (size_t)max_queued;
	char **tokens = NULL, **names = NULL;
	if (load_tokens(token_file, &tokens, &names) < 0) {
		srv_policy_free(policy);
		return 2;
	}
	srv_policy_probe_backends(policy, "symbi-sandbox serve");
	if (srv_policy_probe_default(policy, &err) < 0)
		fprintf(stderr, "symbi-sandbox serve: warning: no backend can run sandboxes here; the "
			"default \"%s\" fails: %s\n", policy->default_backend, err.message);
	srv_service_t *svc = srv_service_new(policy, state, audit, audit_key, &err);
	if (!svc) {
		fprintf(stderr, "symbi-sandbox serve: %s\n", err.message);
		srv_policy_free(policy);
		return 1;
	}
	srv_http_options_t opts = {
		.listen = listen, .tokens = tokens, .token_names = names,
		.shutdown_grace_s = (unsigned)grace, .ready_file = ready,
		.max_connections = (unsigned)max_conn, .max_connections_per_ip = (unsigned)max_conn_ip,
		.header_timeout_s = (unsigned)header_timeout, .idle_timeout_s = 60,
		.allowed_origins = n_origins ? origins : NULL,
		.e2b_listen = e2b, .e2b_ready_file = e2b_ready,
	};
	int rc = srv_http_serve(svc, &opts);
	srv_service_free(svc);
	for (size_t i = 0; tokens && tokens[i]; i++) {
		explicit_bzero(tokens[i], strlen(tokens[i]));
		free(tokens[i]);
		free(names[i]);
	}
	free(tokens);
	free(names);
	if (ready)
		unlink(ready);
	if (e2b_ready)
		unlink(e2b_ready);
	return rc;
}
