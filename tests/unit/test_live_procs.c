/* A live sandbox's list of processes (src/core/live_proc.c), as both
 * backends use it: processes listed while they run, a detached one whose
 * handle is freed ("orphan") kept while it runs and released once it has
 * ended, the rest at the sandbox's end. The backends' real processes are
 * tested in test_live.c and tests/integration/live_*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>

#include "core/live_proc.h"

typedef struct fake_proc {
	symbi_live_node_t node;
	int pid;
	bool ended;
	int *released; /* counts releases */
} fake_proc_t;

static bool fake_ended(void *proc)
{
	return ((fake_proc_t *)proc)->ended;
}

static void fake_release(void *proc)
{
	(*((fake_proc_t *)proc)->released)++;
}

static int fake_pid(void *proc)
{
	fake_proc_t *p = proc;
	return p->ended ? 0 : p->pid;
}

static void test_list_orphans_and_release(void **state)
{
	(void)state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	symbi_live_procs_t l = {.lock = &lock, .ended = fake_ended, .release = fake_release};
	int released = 0;
	fake_proc_t p[4];
	for (int i = 0; i < 4; i++) {
		p[i] = (fake_proc_t){.pid = 10 + i, .released = &released};
		p[i].node.proc = &p[i];
		symbi_live_procs_add(&l, &p[i].node);
	}
	int pids[8];
	assert_int_equal(symbi_live_procs_list(&l, fake_pid, pids, 8), 4);
	/* Only max pids are written; the count is all that run. */
	assert_int_equal(symbi_live_procs_list(&l, fake_pid, pids, 2), 4);

	/* A waited-for process leaves the list; unlinking it again is a no-op. */
	symbi_live_procs_unlink(&l, &p[0].node);
	symbi_live_procs_unlink(&l, &p[0].node);
	assert_int_equal(symbi_live_procs_list(&l, fake_pid, pids, 8), 3);

	/* An orphan that runs stays listed and is not released. */
	symbi_live_procs_orphan(&l, &p[1].node);
	assert_int_equal(symbi_live_procs_list(&l, fake_pid, pids, 8), 3);
	assert_int_equal(released, 0);
	/* Once ended it is released at the next list, and only it: an ended
	 * process whose handle is held stays (its holder frees it). */
	p[1].ended = true;
	p[2].ended = true;
	assert_int_equal(symbi_live_procs_list(&l, fake_pid, pids, 8), 1);
	assert_int_equal(pids[0], 13);
	assert_int_equal(released, 1);
	pthread_mutex_lock(&lock);
	symbi_live_procs_prune_locked(&l);
	pthread_mutex_unlock(&lock);
	assert_int_equal(released, 1);
	assert_ptr_equal(l.head, &p[3].node);
	assert_ptr_equal(p[3].node.next, &p[2].node);

	/* At the sandbox's end what is left goes. */
	symbi_live_procs_unlink(&l, &p[2].node);
	symbi_live_procs_orphan(&l, &p[3].node);
	symbi_live_procs_release_all(&l);
	assert_int_equal(released, 2);
	assert_null(l.head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_orphans_and_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
