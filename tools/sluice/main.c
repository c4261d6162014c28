/*
 * main.c — the sluice command-line tool: command table and dispatch.
 * Placeholder until the commands land; see docs/cli.md.
 */
#include <stdio.h>
#include <string.h>

#include "sluice/sluice.h"

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
		printf("sluice %s\n", SL_VERSION_STRING);
		return 0;
	}
	fprintf(stderr, "usage: sluice COMMAND [ARGS]\n");
	return 2;
}
