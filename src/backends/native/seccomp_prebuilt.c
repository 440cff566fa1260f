/* The allow list as compiled at build time (tools/seccomp_bpf_gen.c prints
 * it into seccomp_bpf.h): a run does not pay libseccomp's ~2 ms for ~400
 * rules. The BPF depends only on the architecture's syscall numbers; on
 * another architecture than the build's it is compiled here instead. */
#include "native.h"
#include "../../core/error.h"

#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "seccomp_bpf.h"

int native_seccomp_load(native_filter_t *f, symbi_error_t *err)
{
	if (seccomp_arch_native() != NATIVE_PREBUILT_ARCH)
		return native_seccomp_compile(f, err);
	f->insns = malloc(sizeof(native_prebuilt_insns));
	if (!f->insns)
		return symbi_fail_nomem(err);
	memcpy(f->insns, native_prebuilt_insns, sizeof(native_prebuilt_insns));
	f->len = sizeof(native_prebuilt_insns) / sizeof(native_prebuilt_insns[0]);
	return 0;
}
