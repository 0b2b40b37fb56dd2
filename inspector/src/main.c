/* sched-inspect: everything is in inspect_run (cli.c). */
#include "cli.h"

int main(int argc, char **argv) { return inspect_run(argc, argv); }
