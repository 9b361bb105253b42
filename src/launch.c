#include "mpiwc/launch.h"

#include <stdlib.h>
#include <string.h>

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

int mpiwc_launch_rank(void)
{
    static const char *const names[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (is_set(names[i]))
            return atoi(getenv(names[i]));
    return 0;
}
