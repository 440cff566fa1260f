/* The line by which the gvisor bootstrap records the program's exit.
 *
 * docker reports a crash of gVisor's sandbox (runsc-sandbox or its gofer
 * killed, runsc's Go runtime dying when the host pids limit bites) only as
 * the container's exit status (137, 2, ...), without any message, exactly
 * as it reports a program that exits with that status. So under gVisor an
 * outer bootstrap shell waits for the program and then writes, as the very
 * last bytes on stderr, SYMBI_DOCKER_BOOTSTRAP_MARK, a per-run secret (not
 * the one of the bootstrap's errors), " exit " and the status. A run that
 * ends without that line never saw the program's exit through the sandbox:
 * runsc died under it (or the program killed the bootstrap itself, which
 * gVisor, unlike Linux, lets it do even to PID 1). */
#include "docker.h"
#include "../core/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int symbi_gvisor_take_exit(symbi_stream_t *s, const char *secret)
{
	char prefix[96];
	int plen = snprintf(prefix, sizeof(prefix), SYMBI_DOCKER_BOOTSTRAP_MARK "%s" SYMBI_GVISOR_EXIT_WORD, secret);
	if (plen < 0 || (size_t)plen >= sizeof(prefix))
		return -1;
	/* The line is the last thing written: PREFIX, 1-3 digits, newline. */
	for (size_t digits = 1; digits <= 3; digits++) {
		size_t n = (size_t)plen + digits + 1;
		if (s->tail_len < n)
			break;
		const char *line = s->tail + s->tail_len - n;
		if (memcmp(line, prefix, (size_t)plen) != 0 || line[n - 1] != '\n')
			continue;
		int status = 0;
		for (size_t i = 0; i < digits; i++) {
			char d = line[(size_t)plen + i];
			if (d < '0' || d > '9')
				return -1;
			status = status * 10 + (d - '0');
		}
		if (status > 255)
			return -1;
		/* Not the program's output: out of the count, and out of what
		 * was kept if the cap let (part of) it in. */
		s->total -= n;
		s->tail_len -= n;
		if (s->len > s->total)
			s->len = (size_t)s->total;
		return status;
	}
	return -1;
}
