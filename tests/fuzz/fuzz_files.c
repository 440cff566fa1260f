/* Files for the harnesses that read a path (policy, audit log, workspace
 * paths): one private directory per fuzzer process, removed at exit. It is
 * under $TMPDIR, or else under /dev/shm: every input creates and removes
 * files there, which a tmpfs does several times faster than a disk (ext4:
 * fuzz_policy 2.5k/s, on tmpfs 11k/s), so tests/fuzz/lib.sh points TMPDIR
 * at a tmpfs too. */
#include "fuzz.h"

#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

static char dir[4096];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_dir(void)
{
	if (dir[0])
		nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

char *fuzz_tmpdir(void)
{
	if (!dir[0]) {
		const char *base = getenv("TMPDIR");
		if (!base || !*base)
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, sizeof(dir), "%s/symbi-fuzz.XXXXXX", base);
		FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
		atexit(remove_dir);
	}
	return dir;
}

const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[4200];
	snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0, "open %s", path);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size, "write %s", path);
	close(fd);
	return path;
}
