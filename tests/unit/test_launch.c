/* Unit tests for launch: when mpiwc asks Open MPI for ob1 before MPI_Init, and
 * which sockets get TCP_NODELAY after it (on loopback sockets made here). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mpiwc/launch.h"

static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE",
                                   "OMPI_COMM_WORLD_LOCAL_SIZE",
                                   "OMPI_MCA_pml",
                                   "OMPI_MCA_mtl",
                                   "MPIWC_MPI_DEFAULTS",
                                   "PMIX_RANK",
                                   "PMI_RANK"};

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

static int delay_off(int fd)
{
    int v = -1;
    socklen_t len = sizeof v;
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    return v != 0;
}

/* A connected TCP pair on 127.0.0.1 (and the listener): fd[0..2]. */
static void tcp_pair(int fd[3])
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    fd[0] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd[0] >= 0);
    assert_int_equal(bind(fd[0], (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd[0], 1), 0);
    assert_int_equal(getsockname(fd[0], (struct sockaddr *)&a, &len), 0);
    fd[1] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd[1] >= 0);
    assert_int_equal(connect(fd[1], (struct sockaddr *)&a, sizeof a), 0);
    fd[2] = accept(fd[0], NULL, NULL);
    assert_true(fd[2] >= 0);
}

static void test_tcp_sockets_get_nodelay(void **state)
{
    (void)state;
    int tcp[3], unix_pair[2];
    tcp_pair(tcp);
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(udp >= 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, unix_pair), 0);
    for (int i = 0; i < 3; i++)
        assert_false(delay_off(tcp[i])); /* Nagle on: the kernel's default */

    setenv("MPIWC_MPI_DEFAULTS", "1", 1); /* the opt-out sets nothing */
    assert_int_equal(mpiwc_launch_nodelay(), 0);
    for (int i = 0; i < 3; i++)
        assert_false(delay_off(tcp[i]));

    unsetenv("MPIWC_MPI_DEFAULTS");
    assert_int_equal(mpiwc_launch_nodelay(), 3); /* the three TCP sockets, not UDP or unix */
    for (int i = 0; i < 3; i++)
        assert_true(delay_off(tcp[i]));
    for (int i = 0; i < 3; i++)
        close(tcp[i]);
    close(udp);
    close(unix_pair[0]);
    close(unix_pair[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_one_host_gets_ob1, clear_env),
        cmocka_unit_test_setup(test_several_hosts_are_left_alone, clear_env),
        cmocka_unit_test_setup(test_singleton_gets_ob1, clear_env),
        cmocka_unit_test_setup(test_srun_is_left_alone, clear_env),
        cmocka_unit_test_setup(test_users_choice_wins, clear_env),
        cmocka_unit_test_setup(test_tcp_sockets_get_nodelay, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
