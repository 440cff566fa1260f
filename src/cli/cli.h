/* The CLI's subcommands. Only the CLI prints; each returns the process exit
 * status. */
#ifndef SYMBI_CLI_H
#define SYMBI_CLI_H

/* Exit statuses shared by subcommands (like timeout(1) and docker run). */
#define CLI_EXIT_TIMEOUT 124
#define CLI_EXIT_SANDBOX_FAILED 125

/* Reads a whole file ("-" is standard input) into a NUL-terminated buffer;
 * *len gets its size. Returns NULL with errno set on failure. */
#include <stddef.h>
char *cli_read_file(const char *path, size_t *len);
/* Writes all of buf to fd; returns -1 on error. */
int cli_write_all(int fd, const char *buf, size_t len);

int cli_run(int argc, char **argv);
int cli_doctor(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_mcp(int argc, char **argv);
int cli_audit(int argc, char **argv);

#endif
