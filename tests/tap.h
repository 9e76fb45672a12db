/* Minimal TAP output for meson's 'tap' protocol. */
#ifndef MMSIM_TAP_H
#define MMSIM_TAP_H

#include <stdio.h>
#include <stdarg.h>

static int tap_n, tap_failed;

static inline void tap_ok(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tap_ok(int ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s %d - ", ok ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		tap_failed++;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
