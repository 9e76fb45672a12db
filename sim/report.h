/*
 * Output backends, apart from the statistics they print.  Results (summary.csv,
 * results.json, config.json) hold only simulated quantities, so the same scenario and seed
 * give byte-identical files; wall-clock figures go to perf.json and stderr only.
 * Every file is written whole to a temporary name and renamed into place.
 */
#ifndef MMSIM_REPORT_H
#define MMSIM_REPORT_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include "stats.h"
#include "mm/mm.h"

struct run_config;

struct task_summary {
	char *name;
	int cpu;
	sim_time_t end;
	struct task_stats stats;
};

struct point_result {
	sim_time_t sim_time;           /* ps, end of the last user task */
	sim_time_t window;             /* ps, the scenario's duration (0: none) */
	struct task_stats total;
	GPtrArray *tasks;              /* struct task_summary * */
	GPtrArray *metrics;            /* struct metric * sorted by name (report()), or NULL */
	bool checked;
	struct mm_check_report check;
	const struct mm_struct *mm;    /* the run's address space (its khugepaged report) */
	/* wall-clock side: perf.json only */
	double wall_s;
	uint64_t simcalls;
};

/* The header; scenario metrics of r (if any) are extra columns after the fixed ones. */
void report_csv_header(GString *s, const struct point_result *r);
void report_csv_row(GString *s, const struct run_config *cfg, const struct point_result *r);
JsonNode *report_results_json(const struct run_config *cfg, const struct point_result *r);
JsonNode *report_perf_json(const struct run_config *cfg, const struct point_result *r);

bool write_file_atomic(const char *path, const char *data, gsize len, GError **err);
bool write_json_atomic(const char *path, JsonNode *node, GError **err);
/* Write summary.csv, results.json, lock_stat.txt, config.json and perf.json into dir. */
bool report_write_point(const char *dir, const struct run_config *cfg,
			const struct point_result *r, GError **err);

#endif
