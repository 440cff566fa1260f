/* envd's files: the filesystem.Filesystem service (Stat, ListDir, MakeDir,
 * Move, Remove) and GET/POST /files, over the sandbox's workspace, which
 * the sandbox sees as its home, /home/user. Every path goes through the
 * workspace helpers (workspace.c: no symlink is followed, no ".."), so a
 * client reaches its sandbox's home and nothing else; paths elsewhere in
 * the sandbox (/tmp...) are refused (permission_denied / 403). Multipart
 * bodies are parsed by libmicrohttpd's post processor, which keeps each
 * part's bytes and full filename as sent. */
#include "e2b.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <microhttpd.h>

#define LIST_MAX_ENTRIES 10000

/* Go's FileMode.String() for the type and permission bits. */
static void permissions(mode_t m, char out[11])
{
	out[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'L' : S_ISREG(m) ? '-' : '?';
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		out[1 + i] = m & (1u << (8 - i)) ? rwx[i] : '-';
	out[10] = '\0';
}

static const char *file_type(mode_t m)
{
	return S_ISDIR(m) ? "FILE_TYPE_DIRECTORY" : S_ISLNK(m) ? "FILE_TYPE_SYMLINK"
						   : S_ISREG(m) ? "FILE_TYPE_FILE" : NULL;
}

/* EntryInfo of rel (a workspace path; "" is the home), or NULL with err. */
static json_t *entry_info(int dirfd, const char *rel, srv_err_t *err)
{
	struct stat st;
	if (srv_ws_stat(dirfd, rel, &st, err) < 0)
		return NULL;
	char perms[11], mtime[32], size[24], path[SRV_MAX_PATH_BYTES + 64];
	permissions(st.st_mode, perms);
	srv_timestamp_at((uint64_t)st.st_mtim.tv_sec * 1000 + (uint64_t)st.st_mtim.tv_nsec / 1000000,
			 mtime);
	snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
	snprintf(path, sizeof(path), "%s%s%s", E2B_HOME, *rel ? "/" : "", rel);
	const char *slash = strrchr(path, '/');
	const char *type = file_type(st.st_mode);
	json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "name", slash + 1, "path", path,
			      "size", size, "mode", (int)(st.st_mode & 0777), "permissions", perms,
			      "owner", "user", "group", "user", "modifiedTime", mtime);
	if (type)
		json_object_set_new(o, "type", json_string(type));
	return o;
}

/* The request's path member as a workspace path. */
static int request_path(json_t *req, const char *member, char *rel, size_t len, srv_err_t *err)
{
	json_t *p = json_object_get(req, member);
	if (!json_is_string(p) || memchr(json_string_value(p), '\0', json_string_length(p)))
		return srv_fail(err, 400, "invalid_request", "\"%s\" (a path) is required", member);
	return e2b_ws_path(json_string_value(p), rel, len, err);
}

/* Directories first, then by name without case. */
static int entry_order(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	bool dx = strcmp(json_string_value(json_object_get(x, "type")), "FILE_TYPE_DIRECTORY") == 0;
	bool dy = strcmp(json_string_value(json_object_get(y, "type")), "FILE_TYPE_DIRECTORY") == 0;
	if (dx != dy)
		return dx ? -1 : 1;
	return strcasecmp(json_string_value(json_object_get(x, "path")),
			  json_string_value(json_object_get(y, "path")));
}

/* Appends the entries beneath rel, down to depth levels. */
static int list_into(int dirfd, const char *rel, long depth, json_t *out, srv_err_t *err)
{
	json_t *l = srv_ws_list(dirfd, rel, err);
	if (!l)
		return -1;
	json_t *e;
	size_t i;
	int rc = 0;
	json_array_foreach(json_object_get(l, "entries"), i, e) {
		if (json_object_get(e, "escaped") || json_array_size(out) >= LIST_MAX_ENTRIES)
			continue; /* a name that is not UTF-8 cannot be sent as JSON */
		char child[SRV_MAX_PATH_BYTES + 1];
		const char *name = json_string_value(json_object_get(e, "name"));
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "", name) >=
		    sizeof(child))
			continue;
		srv_err_t ignored = {0};
		json_t *info = entry_info(dirfd, child, &ignored);
		if (!info || !json_object_get(info, "type")) {
			json_decref(info);
			continue;
		}
		bool dir = strcmp(json_string_value(json_object_get(e, "type")), "directory") == 0;
		json_array_append_new(out, info);
		if (dir && depth > 1 && (rc = list_into(dirfd, child, depth - 1, out, err)) < 0)
			break;
	}
	json_decref(l);
	return rc;
}

static json_t *list_dir(int dirfd, json_t *req, srv_err_t *err)
{
	char rel[SRV_MAX_PATH_BYTES + 1];
	json_t *d = json_object_get(req, "depth");
	long depth = json_is_integer(d) ? (long)json_integer_value(d) : 1;
	if (request_path(req, "path", rel, sizeof(rel), err) < 0)
		return NULL;
	if (depth < 1 || depth > SRV_MAX_PATH_DEPTH)
		return srv_fail(err, 400, "invalid_request", "depth is 1 to %d", SRV_MAX_PATH_DEPTH),
		       NULL;
	struct stat st;
	if (srv_ws_stat(dirfd, rel, &st, err) < 0)
		return NULL;
	if (!S_ISDIR(st.st_mode))
		return srv_fail(err, 400, "invalid_request", "\"%.200s\" is not a directory", rel),
		       NULL;
	json_t *out = json_array();
	if (list_into(dirfd, rel, depth, out, err) < 0) {
		json_decref(out);
		return NULL;
	}
	size_t n = json_array_size(out);
	json_t **v = calloc(n ? n : 1, sizeof(*v)), *sorted = json_array();
	for (size_t i = 0; v && i < n; i++)
		v[i] = json_array_get(out, i);
	if (v)
		qsort(v, n, sizeof(*v), entry_order);
	for (size_t i = 0; v && i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(out);
	return json_pack("{s:o}", "entries", sorted);
}

void e2b_rpc_filesystem(e2b_state_t *st, e2b_sandbox_t *sb, const char *method,
			e2b_request_t *rq, e2b_reply_t *r)
{
	(void)st;
	const char *ct = rq->header(rq->conn, "Content-Type");
	json_t *req = rq->len ? json_loadb(rq->body, rq->len, 0, NULL) : json_object();
	if (!ct || strncmp(ct, "application/json", 16) != 0 || !json_is_object(req)) {
		json_decref(req);
		e2b_rpc_error(r, "invalid_argument",
			      "unary calls take a JSON object (Content-Type application/json)");
		return;
	}
	int dirfd = srv_session_view(e2b_sandbox_session(sb)).dirfd;
	srv_err_t err = {0};
	json_t *out = NULL;
	char rel[SRV_MAX_PATH_BYTES + 1], to[SRV_MAX_PATH_BYTES + 1];
	bool existed = false;
	if (strcmp(method, "Stat") == 0) {
		json_t *e = request_path(req, "path", rel, sizeof(rel), &err) == 0
				    ? entry_info(dirfd, rel, &err) : NULL;
		out = e ? json_pack("{s:o}", "entry", e) : NULL;
	} else if (strcmp(method, "ListDir") == 0) {
		out = list_dir(dirfd, req, &err);
	} else if (strcmp(method, "MakeDir") == 0) {
		if (request_path(req, "path", rel, sizeof(rel), &err) == 0 &&
		    srv_ws_mkdirs(dirfd, rel, &existed, &err) == 0) {
			if (existed)
				srv_fail(&err, 409, "already_exists", "directory \"%.200s\" exists", rel);
			else
				out = json_pack("{s:o}", "entry", entry_info(dirfd, rel, &err));
		}
	} else if (strcmp(method, "Move") == 0) {
		if (request_path(req, "source", rel, sizeof(rel), &err) == 0 &&
		    request_path(req, "destination", to, sizeof(to), &err) == 0 &&
		    srv_ws_rename(dirfd, rel, to, &err) == 0)
			out = json_pack("{s:o}", "entry", entry_info(dirfd, to, &err));
	} else if (strcmp(method, "Remove") == 0) {
		if (request_path(req, "path", rel, sizeof(rel), &err) == 0 &&
		    srv_ws_remove(dirfd, rel, &err) == 0)
			out = json_object();
	} else {
		srv_fail(&err, 501, "unimplemented", "filesystem.Filesystem/%.64s is not supported by "
			 "this server", method);
	}
	json_decref(req);
	if (out) {
		e2b_reply_json(r, 200, out);
		return;
	}
	const char *code = err.status == 501	 ? "unimplemented"
			   : err.status == 409 ? "already_exists"
					       : e2b_rpc_code(&err);
	e2b_rpc_error(r, code, "%s", err.message);
}

/* ---- /files ------------------------------------------------------------------------- */

/* The answer of an upload: [{"name","type":"file","path"}]. */
static json_t *written_entry(const char *rel)
{
	const char *slash = strrchr(rel, '/');
	char path[SRV_MAX_PATH_BYTES + 64];
	snprintf(path, sizeof(path), "%s/%s", E2B_HOME, rel);
	return json_pack("{s:s,s:s,s:s}", "name", slash ? slash + 1 : rel, "type", "file", "path",
			 path);
}

struct part {
	char *name; /* its target: ?path= or the part's filename */
	char *data;
	size_t len, cap;
	bool too_large;
};

struct upload {
	struct part *parts;
	size_t n, max_file;
	const char *path; /* the query's, or NULL */
	bool failed;
};

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *filename, const char *content_type,
			       const char *transfer_encoding, const char *data, uint64_t off,
			       size_t size)
{
	(void)kind;
	(void)key;
	(void)content_type;
	(void)transfer_encoding;
	struct upload *u = cls;
	if (!filename && !u->path)
		return MHD_YES; /* a plain field: not a file */
	if (off == 0) {
		struct part *p = realloc(u->parts, (u->n + 1) * sizeof(*p));
		if (!p) {
			u->failed = true;
			return MHD_NO;
		}
		u->parts = p;
		u->parts[u->n] = (struct part){.name = strdup(u->path ? u->path : filename)};
		u->n++;
	}
	struct part *p = &u->parts[u->n - 1];
	if (!p->name || p->too_large || !size)
		return MHD_YES;
	if (p->len + size > u->max_file) {
		p->too_large = true;
		return MHD_YES;
	}
	if (p->len + size > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		while (cap < p->len + size)
			cap *= 2;
		char *d = realloc(p->data, cap);
		if (!d) {
			u->failed = true;
			return MHD_NO;
		}
		p->data = d;
		p->cap = cap;
	}
	memcpy(p->data + p->len, data, size);
	p->len += size;
	return MHD_YES;
}

/* A status of the workspace helpers as /files answers it. */
static void files_error(e2b_reply_t *r, const srv_err_t *err)
{
	e2b_reply_error(r, err->status ? err->status : 500, "%s", err->message);
}

static void upload(int dirfd, size_t max_file, e2b_request_t *rq, e2b_reply_t *r)
{
	const char *ct = rq->header(rq->conn, "Content-Type");
	const char *qpath = rq->query(rq->conn, "path");
	struct upload u = {.max_file = max_file, .path = qpath};
	srv_err_t err = {0};
	if (ct && strncmp(ct, "application/octet-stream", 24) == 0) {
		if (!qpath)
			return e2b_reply_error(r, 400, "an octet-stream upload needs ?path=");
		if (rq->header(rq->conn, "Content-Encoding"))
			return e2b_reply_error(r, 400, "compressed uploads are not supported");
		u.parts = calloc(1, sizeof(*u.parts));
		if (!u.parts)
			return e2b_reply_error(r, 500, "out of memory");
		u.n = 1;
		u.parts[0].name = strdup(qpath);
		u.parts[0].data = malloc(rq->len ? rq->len : 1);
		if (u.parts[0].data)
			memcpy(u.parts[0].data, rq->body, rq->len);
		u.parts[0].len = rq->len;
		u.parts[0].too_large = rq->len > max_file;
		u.failed = !u.parts[0].data || !u.parts[0].name;
	} else if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
		struct MHD_PostProcessor *pp = MHD_create_post_processor(rq->conn, 65536, on_part, &u);
		if (!pp)
			return e2b_reply_error(r, 400, "the multipart body has no boundary");
		if (MHD_post_process(pp, rq->body, rq->len) != MHD_YES)
			u.failed = true;
		if (MHD_destroy_post_processor(pp) != MHD_YES)
			u.failed = true;
	} else {
		return e2b_reply_error(r, 400, "uploads are multipart/form-data or "
				       "application/octet-stream");
	}
	json_t *out = json_array();
	if (u.failed || !u.n)
		srv_fail(&err, 400, "invalid_request", "the upload holds no file, or is malformed");
	for (size_t i = 0; i < u.n && !err.status; i++) {
		char rel[SRV_MAX_PATH_BYTES + 1];
		struct part *p = &u.parts[i];
		if (!p->name)
			srv_fail(&err, 500, "internal", "out of memory");
		else if (p->too_large)
			srv_fail(&err, 413, "payload_too_large", "a file is larger than this server's "
				 "limit of %zu bytes", max_file);
		else if (e2b_ws_path(p->name, rel, sizeof(rel), &err) == 0 && !*rel)
			srv_fail(&err, 400, "invalid_path", "the home directory is not a file");
		else if (!err.status && srv_ws_write(dirfd, rel, p->data ? p->data : "", p->len,
						      &err) == 0)
			json_array_append_new(out, written_entry(rel));
	}
	for (size_t i = 0; i < u.n; i++) {
		free(u.parts[i].name);
		free(u.parts[i].data);
	}
	free(u.parts);
	if (err.status) {
		json_decref(out);
		files_error(r, &err);
		return;
	}
	e2b_reply_json(r, 200, out);
}

void e2b_files(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r)
{
	int dirfd = srv_session_view(e2b_sandbox_session(sb)).dirfd;
	size_t max_file = e2b_state_service(st)->policy->max_file_bytes;
	if (strcmp(rq->method, "POST") == 0) {
		upload(dirfd, max_file, rq, r);
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		e2b_reply_error(r, 405, "/files takes GET and POST");
		return;
	}
	const char *path = rq->query(rq->conn, "path");
	char rel[SRV_MAX_PATH_BYTES + 1];
	srv_err_t err = {0};
	size_t len = 0;
	char *data = NULL;
	if (!path)
		srv_fail(&err, 400, "invalid_request", "?path= is required");
	else if (e2b_ws_path(path, rel, sizeof(rel), &err) == 0 && !*rel)
		srv_fail(&err, 400, "invalid_path", "path '%.200s' is a directory", path);
	else if (!err.status)
		data = srv_ws_read(dirfd, rel, max_file, &len, &err);
	if (!data) {
		if (err.status == 404)
			e2b_reply_error(r, 404, "path '%.200s' does not exist", path);
		else
			files_error(r, &err);
		return;
	}
	e2b_reply_bytes(r, 200, data, len, "application/octet-stream");
}
