/*
 * Sweeps: the cartesian product of --over values, one child process per point (SimGrid
 * runs one engine per process), --jobs at a time.  Each finished point is complete in its
 * own directory before the merged summary is rewritten, so neither a later failure nor a
 * Ctrl-C loses it.
 */
#ifndef MMSIM_SWEEP_H
#define MMSIM_SWEEP_H

/* sets and overs: NULL-terminated KEY=VALUE / KEY=V1,V2,... lists. */
int sweep_run(const char *file, char **sets, char **overs, int jobs, const char *out_dir);

#endif
