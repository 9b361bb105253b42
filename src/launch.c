#include "mpiwc/launch.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static bool is_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

bool mpiwc_launch_prepare(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    bool singleton = !size && !is_set("PMIX_RANK") && !is_set("PMI_RANK");
    if (!singleton && (!size || !local || !*size || strcmp(size, local) != 0))
        return false; /* srun, or ranks on several hosts */
    if (is_set("OMPI_MCA_pml") || is_set("OMPI_MCA_mtl") || is_set("MPIWC_MPI_DEFAULTS"))
        return false;
    return setenv("OMPI_MCA_pml", "ob1", 0) == 0;
}

/* Set TCP_NODELAY on fd if it is a TCP stream socket; true if it did. */
static bool nodelay(int fd)
{
    int v;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || (v != AF_INET && v != AF_INET6))
        return false;
    len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0 || v != SOCK_STREAM)
        return false;
    v = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) == 0;
}

int mpiwc_launch_nodelay(void)
{
    if (is_set("MPIWC_MPI_DEFAULTS"))
        return 0;
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) { /* no /proc: the low descriptors, where MPI_Init left its sockets */
        for (int fd = 0; fd < 1024; fd++)
            n += nodelay(fd);
        return n;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end == '\0' && end != e->d_name && fd != dirfd(d))
            n += nodelay((int)fd);
    }
    closedir(d);
    return n;
}
