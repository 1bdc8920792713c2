#include "cmd/cmd.h"
#include <stdio.h>
int cmd_doctor(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "closer doctor: being built\n");
    return 2;
}
