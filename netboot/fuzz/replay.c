/*
 * replay: runs a fuzz target over every file of its corpus directories,
 * so the normal test run (make check-unit) replays what the fuzzers found
 * without needing libFuzzer.  Prints TAP: one "ok" per directory.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	uint8_t *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	if (buf == NULL)
		return -1;
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;
#ifdef REPLAY_CORPUS
	/* Built for the test run: replay this target's own corpus. */
	char *deflt[] = {argv[0], (char *)REPLAY_CORPUS, NULL};
	if (argc == 1) {
		argc = 2;
		argv = deflt;
	}
#endif
	printf("1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		int n = 0, bad = 0;
		if (d == NULL) {
			printf("not ok %d - %s: cannot open\n", i, argv[i]);
			failed = 1;
			continue;
		}
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			char path[4096];
			if (de->d_name[0] == '.')
				continue;
			int k = snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (k < 0 || (size_t)k >= sizeof(path) || replay_file(path) < 0)
				bad++;
			n++;
		}
		closedir(d);
		/* A crash would have ended the process before this line. */
		printf("%s %d - %s (%d inputs)\n", bad ? "not ok" : "ok", i, argv[i], n);
		failed |= bad != 0;
	}
	return failed;
}
