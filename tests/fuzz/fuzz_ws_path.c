/* Files-API paths (src/server/workspace.c): the path check every
 * /v1/sessions/{id}/files request and MCP file tool goes through, then the
 * write, read and list done with it inside a real workspace directory.
 * The input is PATH, then optionally a NUL and the file's content.
 * Invariants: srv_path_check() accepts exactly the relative paths of at
 * most 4096 bytes without empty, "." or ".." components (the rule written
 * out here independently); an accepted path is written inside the
 * workspace and reads back byte for byte, or is refused with a message;
 * nothing ever appears outside the workspace, and removing the workspace
 * leaves nothing behind. */
#include "fuzz.h"
#include "server/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

/* The rule, written independently of srv_path_check: valid UTF-8 (as
 * jansson judges it), no NUL (C0 80 is how the HTTP face spells %00), at
 * most SRV_MAX_PATH_BYTES bytes and SRV_MAX_PATH_DEPTH components of at
 * most NAME_MAX bytes, relative, none empty, "." or "..". */
static bool path_ok(const char *p)
{
	size_t len = strlen(p);
	if (len == 0 || len > SRV_MAX_PATH_BYTES || p[0] == '/' || p[len - 1] == '/' ||
	    memmem(p, len, "\xC0\x80", 2))
		return false;
	json_t *s = json_stringn(p, len);
	if (!s)
		return false;
	json_decref(s);
	int depth = 0;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || n > NAME_MAX || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.') || ++depth > SRV_MAX_PATH_DEPTH)
			return false;
		c += n;
		if (*c == '/')
			c++;
	}
	return true;
}

/* The names in the directory, other than . and .., joined by '/'. */
static size_t entries(int dirfd, char *names, size_t cap)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(fd);
	FUZZ_CHECK(d != NULL, "opendir");
	size_t n = 0;
	names[0] = '\0';
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		snprintf(names + strlen(names), cap - strlen(names), "%s/", e->d_name);
	}
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *input = fuzz_strndup(data, size);
	const char *path = input;
	size_t plen = strlen(input);
	const char *content = plen < size ? input + plen + 1 : "";
	size_t clen = plen < size ? size - plen - 1 : 0;

	srv_err_t err = {0};
	int rc = srv_path_check(path, &err);
	FUZZ_CHECK((rc == 0) == path_ok(path), "srv_path_check says %d for \"%s\"", rc, path);
	if (rc < 0) {
		FUZZ_CHECK(err.status == 400 && err.message[0], "status %d", err.status);
		free(input);
		return 0;
	}
	int top = open(fuzz_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(top >= 0 && mkdirat(top, "ws", 0700) == 0, "mkdir ws");
	int ws = openat(top, "ws", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(ws >= 0, "open ws");
	if (srv_ws_write(ws, path, content, clen, &err) == 0) {
		size_t len = 0;
		srv_err_t rerr = {0};
		char *back = srv_ws_read(ws, path, clen + 1, &len, &rerr);
		FUZZ_CHECK(back != NULL, "written \"%s\" but cannot read it: %s", path, rerr.message);
		FUZZ_CHECK(len == clen && memcmp(back, content, clen) == 0, "content differs");
		free(back);
		json_t *list = srv_ws_list(ws, "", &rerr);
		FUZZ_CHECK(list != NULL, "list: %s", rerr.message);
		json_decref(list);
	} else {
		/* A component longer than NAME_MAX is the one system error
		 * expected from a fresh workspace. */
		FUZZ_CHECK(err.message[0] && (err.status == 400 || err.status == 404 ||
					      strstr(err.message, "File name too long")),
			   "write \"%s\": %d %s", path, err.status, err.message);
	}
	close(ws);
	char names[4096];
	FUZZ_CHECK(entries(top, names, sizeof(names)) == 1 && strcmp(names, "ws/") == 0,
		   "something was created outside the workspace: %s", names);
	FUZZ_CHECK(srv_ws_remove_tree(top, "ws") == 0, "remove_tree failed");
	FUZZ_CHECK(entries(top, names, sizeof(names)) == 0, "left behind: %s", names);
	close(top);
	free(input);
	return 0;
}
