/* Unit tests for launch: when mpiwc asks Open MPI for ob1 before MPI_Init,
 * and the launcher's rank it reads before MPI_Init. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpiwc/launch.h"

static const char *const vars[] = {
    "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_MCA_pml", "OMPI_MCA_mtl",
    "MPIWC_MPI_DEFAULTS",   "OMPI_COMM_WORLD_RANK",       "PMIX_RANK",    "PMI_RANK"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

static void launched(const char *size, const char *local)
{
    setenv("OMPI_COMM_WORLD_SIZE", size, 1);
    setenv("OMPI_COMM_WORLD_LOCAL_SIZE", local, 1);
}

static void test_one_host_gets_ob1(void **state)
{
    (void)state;
    launched("4", "4");
    assert_true(mpiwc_launch_prepare());
    assert_non_null(getenv("OMPI_MCA_pml"));
    assert_string_equal(getenv("OMPI_MCA_pml"), "ob1");
}

static void test_several_hosts_are_left_alone(void **state)
{
    (void)state;
    launched("6", "3");
    assert_false(mpiwc_launch_prepare());
    assert_null(getenv("OMPI_MCA_pml"));
}

static void test_singleton_gets_ob1(void **state)
{
    (void)state;
    assert_true(mpiwc_launch_prepare()); /* no launcher: one process, this host */
    assert_string_equal(getenv("OMPI_MCA_pml"), "ob1");

    clear_env(NULL);
    setenv("MPIWC_MPI_DEFAULTS", "1", 1);
    assert_false(mpiwc_launch_prepare());
    assert_null(getenv("OMPI_MCA_pml"));
}

static void test_srun_is_left_alone(void **state)
{
    (void)state;
    setenv("PMIX_RANK", "0", 1); /* srun --mpi=pmix: ranks may span hosts */
    assert_false(mpiwc_launch_prepare());
    assert_null(getenv("OMPI_MCA_pml"));

    clear_env(NULL);
    setenv("PMI_RANK", "3", 1); /* srun --mpi=pmi2 */
    assert_false(mpiwc_launch_prepare());
    assert_null(getenv("OMPI_MCA_pml"));

    clear_env(NULL);
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1); /* half the pair */
    assert_false(mpiwc_launch_prepare());
    assert_null(getenv("OMPI_MCA_pml"));
}

static void test_users_choice_wins(void **state)
{
    (void)state;
    launched("2", "2");
    setenv("OMPI_MCA_pml", "cm", 1);
    assert_false(mpiwc_launch_prepare());
    assert_string_equal(getenv("OMPI_MCA_pml"), "cm");

    clear_env(NULL);
    launched("2", "2");
    setenv("OMPI_MCA_mtl", "psm2", 1); /* an MTL means the cm layer */
    assert_false(mpiwc_launch_prepare());
    assert_null(getenv("OMPI_MCA_pml"));

    clear_env(NULL);
    launched("2", "2");
    setenv("MPIWC_MPI_DEFAULTS", "1", 1);
    assert_false(mpiwc_launch_prepare());
    assert_null(getenv("OMPI_MCA_pml"));
}

static void test_launcher_rank(void **state)
{
    (void)state;
    assert_int_equal(mpiwc_launch_rank(), 0); /* a singleton */
    setenv("PMI_RANK", "5", 1);
    assert_int_equal(mpiwc_launch_rank(), 5);
    setenv("PMIX_RANK", "2", 1); /* srun --mpi=pmix */
    assert_int_equal(mpiwc_launch_rank(), 2);
    setenv("OMPI_COMM_WORLD_RANK", "1", 1); /* mpirun, which sets PMIX_RANK too */
    assert_int_equal(mpiwc_launch_rank(), 1);
    setenv("OMPI_COMM_WORLD_RANK", "", 1); /* empty: not set */
    assert_int_equal(mpiwc_launch_rank(), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_one_host_gets_ob1, clear_env),
        cmocka_unit_test_setup(test_several_hosts_are_left_alone, clear_env),
        cmocka_unit_test_setup(test_singleton_gets_ob1, clear_env),
        cmocka_unit_test_setup(test_srun_is_left_alone, clear_env),
        cmocka_unit_test_setup(test_users_choice_wins, clear_env),
        cmocka_unit_test_setup(test_launcher_rank, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
