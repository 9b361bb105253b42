/* job_memory.c: each rank's memory budget and spill directory (see job_internal.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "job_internal.h"
#include "mpiwc/util.h"

/* The number in the file at path (a cgroup's limit), or UINT64_MAX: none, "max", unreadable. */
static uint64_t limit_in(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return UINT64_MAX;
    char buf[64] = "";
    uint64_t v = UINT64_MAX;
    if (fgets(buf, sizeof buf, f) && buf[0] >= '0' && buf[0] <= '9')
        v = strtoull(buf, NULL, 10);
    fclose(f);
    return v;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/*
 * The memory limit of this process's cgroup (Slurm's --mem, a container's),
 * v2 or v1, at its own path or at the mount's root as a namespace shows it;
 * UINT64_MAX: none.
 */
static uint64_t cgroup_limit(void)
{
    uint64_t v = min64(limit_in("/sys/fs/cgroup/memory.max"),
                       limit_in("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return v;
    char line[4096], path[4200];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *rest = strchr(line, ':');
        char *cg = rest ? strchr(rest + 1, ':') : NULL;
        if (!cg || strcmp(cg + 1, "/") == 0)
            continue;
        if (strncmp(line, "0::", 3) == 0)
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", cg + 1);
        else if (strncmp(rest, ":memory:", 8) == 0)
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", cg + 1);
        else
            continue;
        v = min64(v, limit_in(path));
    }
    fclose(f);
    return v;
}

/* A /proc/self/status field in bytes ("VmSize:" and the like), or 0. */
static uint64_t status_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return 0;
    char line[256];
    uint64_t v = 0;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0) {
            v = strtoull(line + n, NULL, 10) * 1024; /* "  123456 kB" */
            break;
        }
    fclose(f);
    return v;
}

/* Half of what a resource limit leaves beside what the process already maps (MPI's
 * libraries and shared memory, most of it); UINT64_MAX: no limit. */
static uint64_t rlimit_share(int resource, const char *field)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT64_MAX;
    uint64_t used = status_bytes(field);
    return used < (uint64_t)rl.rlim_cur ? ((uint64_t)rl.rlim_cur - used) / 2 : 1;
}

size_t mpiwc_job_budget(const struct mpiwc_options *opts, MPI_Comm comm)
{
    MPI_Comm host;
    int on_host;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host);
    MPI_Comm_size(host, &on_host);
    MPI_Comm_free(&host);
    if (opts->memory_limit != MPIWC_MEMORY_AUTO)
        return opts->memory_limit;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t host_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
    host_bytes = min64(host_bytes, cgroup_limit());
    uint64_t mine = host_bytes == UINT64_MAX ? UINT64_MAX : host_bytes / 2 / (uint64_t)on_host;
    /* ulimit -v and -d bound this process alone. */
    mine = min64(mine, rlimit_share(RLIMIT_AS, "VmSize:"));
    mine = min64(mine, rlimit_share(RLIMIT_DATA, "VmData:"));
    if (mine == UINT64_MAX || mine == 0) /* nothing known: the local table's limit alone */
        mine = MPIWC_LOCAL_TABLE_LIMIT;
    return mine > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)mine;
}

const char *mpiwc_job_spill_dir(const struct mpiwc_options *opts)
{
    if (opts->spill_dir)
        return opts->spill_dir;
    const char *tmp = getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

size_t mpiwc_job_local_limit(size_t budget)
{
    if (budget == 0)
        return 0;
    size_t quarter = budget / 4 ? budget / 4 : 1;
    return quarter < MPIWC_LOCAL_TABLE_LIMIT ? quarter : MPIWC_LOCAL_TABLE_LIMIT;
}
