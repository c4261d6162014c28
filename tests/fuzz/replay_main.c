/*
 * replay_main.c — runs a libFuzzer target over files, for the normal test
 * command: `fuzz_X FILE|DIR...` feeds each file (every file of a directory)
 * to LLVMFuzzerTestOneInput once and prints "1 passed, 0 failed". A crash or
 * sanitizer report fails the run. The same target source builds as a real
 * libFuzzer binary with `make fuzz` (clang -fsanitize=fuzzer).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t *data = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *p = realloc(data, cap);
			if (!p)
				abort();
			data = p;
		}
		size_t r = fread(data + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int count = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) != 0)
				return 1;
			count++;
			continue;
		}
		struct dirent **names;
		int k = scandir(argv[i], &names, NULL, alphasort);
		for (int j = 0; j < k; j++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], names[j]->d_name);
			if (names[j]->d_name[0] != '.' && replay_file(path) == 0)
				count++;
			free(names[j]);
		}
		free(names);
	}
	/* One target is one test, however many inputs its corpus holds. */
	printf("replayed %d inputs without a crash or sanitizer report\n", count);
	printf("1 passed, 0 failed\n");
	return 0;
}
