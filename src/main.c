/* mpiwc: the command, a client of the library (mpiwc.h). */
#include "mpiwc.h"

int main(int argc, char **argv)
{
    return mpiwc_main(argc, argv);
}
