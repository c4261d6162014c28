/*
 * table.c — column-aligned tables for the commands that print Kafka-tool
 * style listings (see cli.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A table printed with every column as wide as its widest cell. */
bool tbl_row(table *t, ...)
{
	if (t->oom)
		return false;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		void *c = realloc(t->cells, cap * (size_t)t->ncols * TBL_CELL);
		if (!c) {
			t->oom = true;
			return false;
		}
		t->cells = c;
		t->cap = cap;
	}
	va_list ap;
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		char *cell = t->cells[t->nrows * (size_t)t->ncols + (size_t)i];
		const char *s = va_arg(ap, const char *);
		snprintf(cell, TBL_CELL, "%s", s && *s ? s : "-");
		size_t w = strlen(cell);
		if (w > t->width[i])
			t->width[i] = w;
	}
	va_end(ap);
	t->nrows++;
	return true;
}

int tbl_print(table *t)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < t->ncols; i++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)i];
			if (i == t->ncols - 1)
				printf("%s\n", cell);
			else
				printf("%-*s ", (int)t->width[i], cell);
		}
	}
	tbl_free(t);
	return t->oom ? cli_fail("out of memory") : EXIT_OK;
}

void tbl_free(table *t)
{
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

const char *cli_num(char *buf, int64_t v)
{
	if (v < 0)
		return "-";
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}
