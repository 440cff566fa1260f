/* `symbi-sandbox audit verify [--key-file FILE] [--expect-head HASH] FILE`:
 * checks an audit log's hash chain. */
#include "cli.h"
#include "../server/server.h"

#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: symbi-sandbox audit verify [--key-file FILE] [--expect-head HASH] LOG\n"
	"\n"
	"Checks the hash chain of an audit log written by 'serve --audit-log' or\n"
	"'mcp --audit-log' (its format: docs/audit-log.md) and prints the hash of\n"
	"its last line, the head. Record the head elsewhere: a chain can be cut\n"
	"short or recomputed by whoever can write the file, which only a known head\n"
	"(--expect-head) or a secret key (--key-file, the server's --audit-key-file)\n"
	"reveals.\n"
	"\n"
	"  --key-file FILE      the HMAC key the log was written with\n"
	"  --expect-head HASH   fail unless the chain ends at this hash\n"
	"\n"
	"Exit status 0 if intact, 1 if not (the first bad line is named), 2 on\n"
	"usage errors.\n";

int cli_audit(int argc, char **argv)
{
	static const struct option options[] = {
		{"key-file", required_argument, NULL, 'k'},
		{"expect-head", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "verify") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	const char *key_file = NULL, *head = NULL;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'k': key_file = optarg; break;
		case 'e': head = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	const char *log = argv[optind];
	if (head && (strlen(head) != 64 || strspn(head, "0123456789abcdef") != 64)) {
		fprintf(stderr, "symbi-sandbox audit: --expect-head wants 64 lower-case hex digits\n");
		return 2;
	}
	unsigned char *key = NULL;
	size_t keylen = 0;
	srv_err_t err = {0};
	if (key_file && srv_audit_load_key(key_file, &key, &keylen, &err) < 0) {
		fprintf(stderr, "symbi-sandbox audit: %s\n", err.message);
		return 2;
	}
	char msg[512];
	long n = srv_audit_verify(log, key, keylen, head, msg, sizeof(msg));
	if (key) {
		OPENSSL_cleanse(key, keylen);
		free(key);
	}
	if (n < 0) {
		fprintf(stderr, "symbi-sandbox audit: %s: %s\n", log, msg);
		return 1;
	}
	printf("%s: %s\n", log, msg);
	return 0;
}
