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

/* What `run` takes besides the configuration. */
#include <stdbool.h>
#include <symbi/sandbox.h>
struct cli_run_args {
	const char *config_file;
	const char *code_file;
	const char *stdin_file;
	bool json;
};
/* Parses run's options (shared by `shell`) into cfg and env (either may be
 * NULL: out of memory). Returns 0; 1 after --help (printed); -1 after an
 * error, which it printed with the command's name. optind is left at the
 * first operand. */
int cli_build_config(const char *cmd, int argc, char **argv, symbi_config_t *cfg,
		     symbi_env_t *env, struct cli_run_args *a);
/* The exit status that reports a result (the program's; 124, 125, 128+N). */
int cli_exit_status(const symbi_result_t *res);

int cli_run(int argc, char **argv);
int cli_shell(int argc, char **argv);
int cli_doctor(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_mcp(int argc, char **argv);
int cli_audit(int argc, char **argv);

#endif
