/*
 * CSV and JSON writers (see report.h).
 */
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include "report.h"
#include "config.h"
#include "jsonout.h"
#include "workload.h"
#include "lockstat.h"
#include "sync/rcu.h"
#include "mm/khugepaged.h"

static uint64_t faults_of(const struct point_result *r)
{
	return r->total.fault_latency.count;
}

/*
 * Faults per simulated second.  With a scenario duration, as will-it-scale counts: the
 * faults completed within the duration, over the duration (work that stragglers finish
 * after it does not stretch the denominator).  Without one: all faults over the run.
 */
static double faults_per_s(const struct point_result *r)
{
	if (r->window)
		return (double)r->total.ev[EV_FAULT_IN_WINDOW] * 1e12 / (double)r->window;
	return r->sim_time ? (double)faults_of(r) * 1e12 / (double)r->sim_time : 0.0;
}

static const char *const csv_columns =
	"scheme,machine,cpus,threads,seed,sim_time_ns,faults,faults_per_s,fault_p50_ns,"
	"fault_p90_ns,fault_p99_ns,fault_max_ns,mmaps,munmaps,mmap_lock_waits,spin_share,"
	"sleep_share\n";

void report_csv_header(GString *s, const struct point_result *r)
{
	g_string_append_len(s, csv_columns, (gssize)strlen(csv_columns) - 1);
	for (unsigned i = 0; r && r->metrics && i < r->metrics->len; i++)
		g_string_append_printf(s, ",%s", ((struct metric *)r->metrics->pdata[i])->name);
	g_string_append_c(s, '\n');
}

/* Share of the tasks' total simulated time spent spinning or asleep on locks. */
static double share(sim_time_t part, const struct point_result *r, int ntasks)
{
	double whole = (double)r->sim_time * ntasks;
	return whole > 0 ? (double)part / whole : 0.0;
}

/* lock_stat contentions (waits) on mmap_lock, both sides. */
static uint64_t mmap_lock_contentions(void)
{
	for (unsigned i = 0; i < lock_class_count(); i++) {
		const struct lock_class *c = lock_class_sorted(i);
		if (!strcmp(c->name, "&mm->mmap_lock"))
			return c->side[LS_READ].contentions + c->side[LS_WRITE].contentions;
	}
	return 0;
}

void report_csv_row(GString *s, const struct run_config *cfg, const struct point_result *r)
{
	const struct latency_hist *h = &r->total.fault_latency;
	const uint64_t *ev = r->total.ev;
	g_string_append_printf(s, "%s,%s,%d,%d,%llu,%.3f,%llu,%.1f,%llu,%llu,%llu,%llu,%llu,%llu,"
			       "%llu,%.4f,%.4f\n",
			       cfg->scheme_name, cfg->machine_name, cfg->cpus, cfg->nr_tasks,
			       (unsigned long long)cfg->seed, ps_to_ns(r->sim_time),
			       (unsigned long long)faults_of(r), faults_per_s(r),
			       (unsigned long long)hist_quantile(h, 0.50),
			       (unsigned long long)hist_quantile(h, 0.90),
			       (unsigned long long)hist_quantile(h, 0.99),
			       (unsigned long long)h->max_ns, (unsigned long long)ev[EV_MMAP],
			       (unsigned long long)ev[EV_MUNMAP],
			       (unsigned long long)mmap_lock_contentions(),
			       share(r->total.spin, r, cfg->nr_tasks),
			       share(r->total.sleep_wait, r, cfg->nr_tasks));
	g_string_truncate(s, s->len - 1);
	for (unsigned i = 0; r->metrics && i < r->metrics->len; i++) {
		const struct metric *m = r->metrics->pdata[i];
		g_string_append_printf(s, ",%.3f", m->sum / (double)m->count);
	}
	g_string_append_c(s, '\n');
}

static void add_stats(JsonBuilder *b, const struct task_stats *s)
{
	const struct latency_hist *h = &s->fault_latency;
	json_builder_set_member_name(b, "events");
	json_builder_begin_object(b);
	for (int i = 0; i < NR_STAT_EVENTS; i++)
		json_add_int(b, stat_event_name[i], (gint64)s->ev[i]);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "fault_latency_ns");
	json_builder_begin_object(b);
	json_add_int(b, "count", (gint64)h->count);
	json_add_double(b, "mean", h->count ? (double)h->sum_ns / (double)h->count : 0.0);
	static const struct { const char *k; double q; } qs[] = {
		{ "p50", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 }, { "p999", 0.999 },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(qs); i++)
		json_add_int(b, qs[i].k, (gint64)hist_quantile(h, qs[i].q));
	json_add_int(b, "max", (gint64)h->max_ns);
	json_builder_end_object(b);
	json_add_double(b, "busy_ns", ps_to_ns(s->busy));
	json_add_double(b, "spin_ns", ps_to_ns(s->spin));
	json_add_double(b, "sleep_wait_ns", ps_to_ns(s->sleep_wait));
	json_add_double(b, "idle_ns", ps_to_ns(s->idle));
	json_add_double(b, "irq_ns", ps_to_ns(s->irq));
}

static void add_lock_time(JsonBuilder *b, const char *k, const struct lock_time *lt)
{
	json_builder_set_member_name(b, k);
	json_builder_begin_object(b);
	json_add_int(b, "count", (gint64)lt->nr);
	json_add_double(b, "min_ns", lt->nr ? ps_to_ns(lt->min) : 0.0);
	json_add_double(b, "max_ns", ps_to_ns(lt->max));
	json_add_double(b, "total_ns", ps_to_ns(lt->total));
	json_add_double(b, "avg_ns", lt->nr ? ps_to_ns(lt->total) / (double)lt->nr : 0.0);
	json_builder_end_object(b);
}

static void add_points(JsonBuilder *b, const char *k, const struct lock_site_count *pts)
{
	struct lock_site_count top[LOCKSTAT_POINTS];
	unsigned n = lockstat_top_points(pts, top);
	json_builder_set_member_name(b, k);
	json_builder_begin_array(b);
	for (unsigned i = 0; i < n; i++) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "site");
		json_builder_add_string_value(b, top[i].site);
		json_add_int(b, "count", (gint64)top[i].count);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* results.json lists at most this many collapses one by one (all are in the totals). */
#define COLLAPSE_RECORDS_MAX 64

static void json_hist_member(JsonBuilder *b, const char *name, const struct latency_hist *h)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	json_add_int(b, "count", (gint64)h->count);
	json_add_int(b, "p50_ns", (gint64)hist_quantile(h, 0.50));
	json_add_int(b, "p90_ns", (gint64)hist_quantile(h, 0.90));
	json_add_int(b, "p99_ns", (gint64)hist_quantile(h, 0.99));
	json_add_int(b, "max_ns", (gint64)h->max_ns);
	json_builder_end_object(b);
}

/* khugepaged: collapses, failures, lock hold times, IPIs, the stall faults saw. */
static void add_khugepaged(JsonBuilder *b, const struct mm_struct *mm)
{
	struct khugepaged_summary k;
	if (!khugepaged_summary(mm, &k))
		return;
	json_builder_set_member_name(b, "khugepaged");
	json_builder_begin_object(b);
	json_add_string(b, "collapse", k.collapse);
	json_add_int(b, "cpu", k.cpu);
	json_add_int(b, "wakeups", (gint64)k.wakeups);
	json_add_int(b, "mmap_read_trylock_failed", (gint64)k.trylock_failed);
	json_add_int(b, "ranges_scanned", (gint64)k.ranges_scanned);
	json_add_int(b, "collapses", (gint64)k.collapses);
	json_add_int(b, "collapses_failed", (gint64)k.failed);
	json_add_int(b, "ipis", (gint64)k.ipis);
	json_builder_set_member_name(b, "scan_failures");
	json_builder_begin_object(b);
	for (int i = 1; i < NR_SCAN_RESULTS; i++)
		json_add_int(b, scan_result_name[i], (gint64)k.scan_fail[i]);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "collapse_failures");
	json_builder_begin_object(b);
	for (int i = 1; i < NR_SCAN_RESULTS; i++)
		json_add_int(b, scan_result_name[i], (gint64)k.collapse_fail[i]);
	json_builder_end_object(b);
	/* Per lock, over the collapse attempts that took it. */
	json_builder_set_member_name(b, "lock_hold");
	json_builder_begin_object(b);
	for (int l = 0; l < NR_CL; l++) {
		json_builder_set_member_name(b, collapse_lock_key[l]);
		json_builder_begin_object(b);
		json_add_int(b, "collapses", (gint64)k.held_count[l]);
		json_add_double(b, "total_ns", ps_to_ns(k.held_total[l]));
		json_add_double(b, "mean_ns", k.held_count[l] ?
				ps_to_ns(k.held_total[l]) / (double)k.held_count[l] : 0.0);
		json_add_double(b, "max_ns", ps_to_ns(k.held_max[l]));
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	uint64_t attempts = k.collapses + k.failed;
	json_add_double(b, "window_total_ns", ps_to_ns(k.window_total));
	json_add_double(b, "window_mean_ns",
			attempts ? ps_to_ns(k.window_total) / (double)attempts : 0.0);
	json_add_double(b, "window_max_ns", ps_to_ns(k.window_max));
	json_add_int(b, "walker_waits", (gint64)k.walker_waits);
	json_add_double(b, "walker_wait_total_ns", ps_to_ns(k.walker_wait_total));
	json_add_int(b, "swapins", (gint64)k.swapins);
	json_hist_member(b, "faults_during_collapse", &k.during);
	json_hist_member(b, "faults_outside_collapse", &k.outside);
	json_builder_set_member_name(b, "per_collapse");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < k.nr_records && i < COLLAPSE_RECORDS_MAX; i++) {
		const struct collapse_record *c = &k.records[i];
		char addr[32];
		json_builder_begin_object(b);
		snprintf(addr, sizeof addr, "0x%lx", c->haddr);
		json_add_string(b, "address", addr);
		json_add_string(b, "result", scan_result_name[c->result]);
		json_add_double(b, "start_ns", ps_to_ns(c->start));
		json_add_double(b, "duration_ns", ps_to_ns(c->end - c->start));
		json_add_double(b, "window_ns", ps_to_ns(c->window));
		for (int l = 0; l < NR_CL; l++) {
			char key[32];
			snprintf(key, sizeof key, "%s_ns", collapse_lock_key[l]);
			json_add_double(b, key, ps_to_ns(c->held[l]));
		}
		json_add_int(b, "ipis", (gint64)c->ipis);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
}

/* The lock_stat table as JSON: every class acquired at least once, by name. */
static void add_lock_stat(JsonBuilder *b)
{
	json_builder_set_member_name(b, "lock_stat");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < lock_class_count(); i++) {
		const struct lock_class *c = lock_class_sorted(i);
		if (!c->side[LS_WRITE].acquisitions && !c->side[LS_READ].acquisitions)
			continue;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "class");
		json_builder_add_string_value(b, c->name);
		for (int side = 0; side < (c->rw ? 2 : 1); side++) {
			const struct lock_class_side *s = &c->side[side];
			json_builder_set_member_name(b, side == LS_WRITE ? "write" : "read");
			json_builder_begin_object(b);
			json_add_int(b, "con_bounces", (gint64)s->con_bounces);
			json_add_int(b, "contentions", (gint64)s->contentions);
			json_add_int(b, "acq_bounces", (gint64)s->acq_bounces);
			json_add_int(b, "acquisitions", (gint64)s->acquisitions);
			add_lock_time(b, "wait", &s->wait);
			add_lock_time(b, "hold", &s->hold);
			json_add_double(b, "spin_wait_ns", ps_to_ns(s->spin_wait));
			json_add_double(b, "sleep_wait_ns", ps_to_ns(s->sleep_wait));
			json_builder_end_object(b);
		}
		add_points(b, "contention_points", c->contention_point);
		add_points(b, "contending_points", c->contending_point);
		json_add_int(b, "line_transfers", (gint64)c->transfers);
		json_add_int(b, "handoffs", (gint64)c->handoffs);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	if (rcu) {
		const struct rcu_stats *st = &rcu->stats;
		json_builder_set_member_name(b, "rcu");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "mode");
		json_builder_add_string_value(b, rcu->mode == RCU_TICK ? "tick" : "expedited");
		json_add_int(b, "grace_periods", (gint64)st->gps);
		add_lock_time(b, "grace_period", &st->gp);
		add_lock_time(b, "synchronize_rcu", &st->sync);
		json_add_int(b, "callbacks", (gint64)st->callbacks);
		json_add_int(b, "callback_batches", (gint64)st->batches);
		json_add_int(b, "max_batch", (gint64)st->max_batch);
		json_add_int(b, "expedited_ipis", (gint64)st->ipis);
		json_builder_set_member_name(b, "violation");
		json_builder_add_string_value(b, rcu->violation ? rcu->violation : "none");
		json_builder_end_object(b);
	}
	json_builder_set_member_name(b, "lockdep");
	if (lockdep_report())
		json_builder_add_string_value(b, lockdep_report());
	else
		json_builder_add_string_value(b, "no lock order inversion");
}

JsonNode *report_results_json(const struct run_config *cfg, const struct point_result *r)
{
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "config");
	json_builder_add_value(b, config_to_json(cfg));
	json_builder_set_member_name(b, "results");
	json_builder_begin_object(b);
	json_add_double(b, "sim_time_ns", ps_to_ns(r->sim_time));
	json_add_int(b, "faults", (gint64)faults_of(r));
	json_add_double(b, "faults_per_s", faults_per_s(r));
	add_stats(b, &r->total);
	json_builder_set_member_name(b, "metrics");
	json_builder_begin_object(b);
	for (unsigned i = 0; r->metrics && i < r->metrics->len; i++) {
		const struct metric *m = r->metrics->pdata[i];
		json_builder_set_member_name(b, m->name);
		json_builder_begin_object(b);
		json_add_int(b, "count", (gint64)m->count);
		json_add_double(b, "mean", m->sum / (double)m->count);
		json_add_double(b, "min", m->min);
		json_add_double(b, "max", m->max);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	add_lock_stat(b);
	if (r->mm)
		add_khugepaged(b, r->mm);
	if (r->checked) {
		json_builder_set_member_name(b, "check");
		json_builder_begin_object(b);
		json_add_int(b, "mapped_pages", (gint64)r->check.mapped_pages);
		json_add_int(b, "zero_page_ptes", (gint64)r->check.zero_ptes);
		json_add_int(b, "page_table_pages", (gint64)r->check.table_pages);
		json_add_int(b, "map_count", r->check.map_count);
		json_add_int(b, "pages_in_use", (gint64)r->check.pages_in_use);
		json_add_int(b, "loads_verified", (gint64)r->check.loads_verified);
		json_add_int(b, "stores_verified", (gint64)r->check.stores_verified);
		json_add_string(b, "verdict", r->check.error ? r->check.error : "consistent");
		json_builder_end_object(b);
	}
	json_builder_set_member_name(b, "tasks");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < r->tasks->len; i++) {
		const struct task_summary *ts = g_ptr_array_index(r->tasks, i);
		json_builder_begin_object(b);
		json_add_string(b, "name", ts->name);
		json_add_int(b, "cpu", ts->cpu);
		json_add_double(b, "end_ns", ps_to_ns(ts->end));
		add_stats(b, &ts->stats);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	json_builder_end_object(b);
	JsonNode *root = json_builder_get_root(b);
	g_object_unref(b);
	return root;
}

JsonNode *report_perf_json(const struct run_config *cfg, const struct point_result *r)
{
	JsonBuilder *b = json_builder_new();
	uint64_t faults = faults_of(r);
	json_builder_begin_object(b);
	json_add_double(b, "wall_s", r->wall_s);
	json_add_int(b, "simcalls", (gint64)r->simcalls);
	json_add_int(b, "faults", (gint64)faults);
	json_add_double(b, "simcalls_per_fault", faults ? (double)r->simcalls / (double)faults : 0.0);
	json_add_double(b, "faults_per_wall_s", r->wall_s > 0 ? (double)faults / r->wall_s : 0.0);
	json_add_double(b, "sim_ns_per_wall_s", r->wall_s > 0 ? ps_to_ns(r->sim_time) / r->wall_s : 0.0);
	json_builder_end_object(b);
	JsonNode *root = json_builder_get_root(b);
	g_object_unref(b);
	return root;
}

bool write_file_atomic(const char *path, const char *data, gsize len, GError **err)
{
	/* g_file_set_contents writes a temporary file and renames it over path. */
	return g_file_set_contents(path, data, (gssize)len, err);
}

bool write_json_atomic(const char *path, JsonNode *node, GError **err)
{
	JsonGenerator *g = json_generator_new();
	json_generator_set_pretty(g, TRUE);
	json_generator_set_indent(g, 2);
	json_generator_set_root(g, node);
	gsize len;
	gchar *text = json_generator_to_data(g, &len);
	GString *s = g_string_new_len(text, (gssize)len);
	g_string_append_c(s, '\n');
	bool ok = write_file_atomic(path, s->str, s->len, err);
	g_string_free(s, TRUE);
	g_free(text);
	g_object_unref(g);
	json_node_unref(node);
	return ok;
}

bool report_write_point(const char *dir, const struct run_config *cfg,
			const struct point_result *r, GError **err)
{
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot create %s: %s", dir, g_strerror(errno));
		return false;
	}
	GString *csv = g_string_new("");
	report_csv_header(csv, r);
	report_csv_row(csv, cfg, r);
	char *p_csv = g_build_filename(dir, "summary.csv", NULL);
	char *p_res = g_build_filename(dir, "results.json", NULL);
	char *p_cfg = g_build_filename(dir, "config.json", NULL);
	char *p_perf = g_build_filename(dir, "perf.json", NULL);
	char *p_lock = g_build_filename(dir, "lock_stat.txt", NULL);
	GString *ls = g_string_new("");
	lockstat_format(ls);
	if (r->mm)
		khugepaged_report_text(r->mm, ls);
	bool ok = write_json_atomic(p_cfg, config_to_json(cfg), err) &&
		  write_file_atomic(p_lock, ls->str, ls->len, err) &&
		  write_json_atomic(p_res, report_results_json(cfg, r), err) &&
		  write_json_atomic(p_perf, report_perf_json(cfg, r), err) &&
		  /* summary.csv last: its presence marks a finished point */
		  write_file_atomic(p_csv, csv->str, csv->len, err);
	g_string_free(csv, TRUE);
	g_free(p_csv);
	g_free(p_res);
	g_free(p_cfg);
	g_free(p_perf);
	g_free(p_lock);
	g_string_free(ls, TRUE);
	return ok;
}
