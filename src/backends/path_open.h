/* Opening a host path through no symlink, for the volume code of the docker
 * and native backends: a path that was resolved and checked has none, so
 * one met on the way means it changed since (a swap between check and
 * use). */
#ifndef SYMBI_BACKENDS_PATH_OPEN_H
#define SYMBI_BACKENDS_PATH_OPEN_H

/* An O_PATH, close-on-exec descriptor of the absolute path, or -1 with
 * errno (ELOOP: a symlink on the way, or the path itself is one). Uses
 * openat2(RESOLVE_NO_SYMLINKS), and where the kernel (before 5.6) or a
 * tool such as valgrind does not know it, walks the path a component at a
 * time with O_NOFOLLOW. */
int symbi_open_no_symlinks(const char *path);

#endif
