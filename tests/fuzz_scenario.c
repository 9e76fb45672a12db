/*
 * Fuzz target for the scenario loader: any bytes as a scenario file must load or be
 * rejected with a message, never crash.  Built as a libFuzzer target when the compiler
 * supports -fsanitize=fuzzer (meson -Dfuzzing=true); otherwise, and in the test suite,
 * a standalone driver feeds it every file named on the command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = NULL;
	int fd = g_file_open_tmp("mmsim-fuzz-XXXXXX.lua", &path, NULL);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		g_unlink(path);
		g_free(path);
		return 0;
	}
	close(fd);
	char *err = NULL;
	char *sets[] = { "threads=2", NULL };
	struct run_config *cfg = config_load(path, sets, &err);
	if (!cfg && (!err || !*err)) {
		fprintf(stderr, "rejected without a message\n");
		__builtin_trap();
	}
	config_free(cfg);
	g_free(err);
	g_unlink(path);
	g_free(path);
	return 0;
}

#ifndef MMSIM_LIBFUZZER
int main(int argc, char **argv)
{
	int n = 0;
	for (int i = 1; i < argc; i++) {
		char *data;
		gsize len;
		if (!g_file_get_contents(argv[i], &data, &len, NULL))
			continue;
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		/* and every prefix cut at a line end: half-written files */
		for (gsize k = 0; k < len; k++)
			if (data[k] == '\n')
				LLVMFuzzerTestOneInput((const uint8_t *)data, k);
		g_free(data);
		n++;
	}
	printf("1..1\nok 1 - %d corpus files and their prefixes loaded or were rejected cleanly\n", n);
	return 0;
}
#endif
