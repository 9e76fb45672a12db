/*
 * The sweep driver (see sweep.h).  The parent never starts SimGrid: it validates every
 * point's configuration first (so a bad --over value fails before anything runs), then
 * forks one child per point, which loads the scenario afresh and runs it.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "sweep.h"
#include "config.h"
#include "jsonout.h"
#include "report.h"
#include "run.h"
#include "die.h"

struct point {
	char **sets;        /* base --set plus this point's values */
	char *label;        /* "threads=4,scheme=classic" */
	char *dir;
	pid_t pid;
	int status;         /* exit status once done; -1 while pending */
};

static void point_free(gpointer data)
{
	struct point *p = data;
	g_strfreev(p->sets);
	g_free(p->label);
	g_free(p->dir);
	g_free(p);
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

/* Expand --over lists into points; false (with *err) if one is malformed. */
static GPtrArray *expand(char **sets, char **overs, char **err)
{
	guint n = overs ? g_strv_length(overs) : 0;
	g_autofree char **keys = g_new0(char *, n + 1);
	g_autofree GStrv *vals = g_new0(GStrv, n + 1);
	GPtrArray *points = NULL;
	guint total = 1;

	for (guint k = 0; k < n; k++) {
		char *list;
		if (!config_split_set(overs[k], &keys[k], &list) || !*list) {
			g_free(list);
			*err = g_strdup_printf("--over %s: expected KEY=V1,V2,...", overs[k]);
			goto out;
		}
		vals[k] = g_strsplit(list, ",", -1);
		g_free(list);
		for (char **x = vals[k]; *x; x++)
			if (!**x) {
				*err = g_strdup_printf("--over %s: empty value", overs[k]);
				goto out;
			}
		total *= g_strv_length(vals[k]);
	}
	/* Point i's digits in mixed radix, the first --over most significant (outermost). */
	points = g_ptr_array_new_with_free_func(point_free);
	for (guint i = 0; i < total; i++) {
		struct point *p = g_new0(struct point, 1);
		GPtrArray *all = g_ptr_array_new(), *mine = g_ptr_array_new_with_free_func(g_free);
		for (char **x = sets; x && *x; x++)
			g_ptr_array_add(all, g_strdup(*x));
		guint rest = i;
		for (guint k = n; k-- > 0;) {
			guint radix = g_strv_length(vals[k]);
			g_ptr_array_insert(mine, 0, g_strdup_printf("%s=%s", keys[k], vals[k][rest % radix]));
			rest /= radix;
		}
		for (guint j = 0; j < mine->len; j++)
			g_ptr_array_add(all, g_strdup(mine->pdata[j]));
		g_ptr_array_add(all, NULL);
		p->sets = (char **)g_ptr_array_free(all, FALSE);
		g_ptr_array_add(mine, NULL);
		p->label = n ? g_strjoinv(",", (char **)mine->pdata) : g_strdup("default");
		g_ptr_array_free(mine, TRUE);
		p->status = -1;
		g_ptr_array_add(points, p);
	}
out:
	for (guint k = 0; k < n; k++) {
		g_free(keys[k]);
		g_strfreev(vals[k]);
	}
	return points;
}

/*
 * One line of a point's summary.csv: the header (line 0, which names the scenario's metric
 * columns) or the data row (line 1), with its newline; NULL if the file is not complete.
 */
static char *read_csv_line(const char *dir, int which)
{
	char *path = g_build_filename(dir, "summary.csv", NULL), *text = NULL;
	g_file_get_contents(path, &text, NULL, NULL);
	g_free(path);
	if (!text)
		return NULL;
	char *nl = strchr(text, '\n');
	char *line = !nl ? NULL : which == 0 ? g_strndup(text, (gsize)(nl - text + 1)) :
					       g_strdup(nl + 1);
	g_free(text);
	return line;
}

static JsonNode *read_json(const char *dir, const char *leaf)
{
	char *path = g_build_filename(dir, leaf, NULL);
	JsonParser *parser = json_parser_new();
	JsonNode *node = NULL;
	if (json_parser_load_from_file(parser, path, NULL))
		node = json_node_copy(json_parser_get_root(parser));
	g_object_unref(parser);
	g_free(path);
	return node;
}

/* Rewrite summary.csv, results.json and perf.json from the finished points. */
static void merge(GPtrArray *points, const char *out)
{
	GString *csv = g_string_new("");
	char *head = NULL;
	for (unsigned i = 0; i < points->len && !head; i++) {
		struct point *p = g_ptr_array_index(points, i);
		if (p->status == 0)
			head = read_csv_line(p->dir, 0);
	}
	if (head)
		g_string_append(csv, head);
	else
		report_csv_header(csv, NULL);
	g_free(head);
	JsonBuilder *b = json_builder_new(), *pb = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "points");
	json_builder_begin_array(b);
	json_builder_begin_array(pb);
	for (unsigned i = 0; i < points->len; i++) {
		struct point *p = g_ptr_array_index(points, i);
		if (p->status != 0)
			continue;
		char *row = read_csv_line(p->dir, 1);
		JsonNode *res = read_json(p->dir, "results.json");
		JsonNode *perf = read_json(p->dir, "perf.json");
		if (!row || !res) {
			g_free(row);
			continue;
		}
		g_string_append(csv, row);
		g_free(row);
		char *rel = g_path_get_basename(p->dir);
		json_builder_begin_object(b);
		json_add_string(b, "point", p->label);
		json_add_string(b, "dir", rel);
		json_builder_set_member_name(b, "data");
		json_builder_add_value(b, res);
		json_builder_end_object(b);
		json_builder_begin_object(pb);
		json_add_string(pb, "point", p->label);
		if (perf) {
			json_builder_set_member_name(pb, "perf");
			json_builder_add_value(pb, perf);
		}
		json_builder_end_object(pb);
		g_free(rel);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	json_builder_end_array(pb);
	char *p_csv = g_build_filename(out, "summary.csv", NULL);
	char *p_res = g_build_filename(out, "results.json", NULL);
	char *p_perf = g_build_filename(out, "perf.json", NULL);
	GError *err = NULL;
	if (!write_json_atomic(p_res, json_builder_get_root(b), &err) ||
	    !write_json_atomic(p_perf, json_builder_get_root(pb), &err) ||
	    !write_file_atomic(p_csv, csv->str, csv->len, &err)) {
		fprintf(stderr, "mmsim: %s\n", err->message);
		g_clear_error(&err);
	}
	g_object_unref(b);
	g_object_unref(pb);
	g_string_free(csv, TRUE);
	g_free(p_csv);
	g_free(p_res);
	g_free(p_perf);
}

struct series {
	char *title;
	GArray *x, *y;
};

/* throughput.svg: faults per simulated second vs threads, one line per scheme. */
static void plot(GPtrArray *points, const char *out, const char *name)
{
	GPtrArray *series = g_ptr_array_new();
	for (unsigned i = 0; i < points->len; i++) {
		struct point *p = g_ptr_array_index(points, i);
		if (p->status != 0)
			continue;
		JsonNode *res = read_json(p->dir, "results.json");
		if (!res)
			continue;
		JsonObject *o = json_node_get_object(res);
		JsonObject *c = json_object_get_object_member(o, "config");
		JsonObject *r = json_object_get_object_member(o, "results");
		char *title = g_strdup_printf("%s (%s)", json_object_get_string_member(c, "scheme"),
					      json_object_get_string_member(c, "machine"));
		struct series *s = NULL;
		for (unsigned j = 0; j < series->len && !s; j++)
			if (!strcmp(((struct series *)g_ptr_array_index(series, j))->title, title))
				s = g_ptr_array_index(series, j);
		if (!s) {
			s = g_new0(struct series, 1);
			s->title = g_strdup(title);
			s->x = g_array_new(FALSE, FALSE, sizeof(double));
			s->y = g_array_new(FALSE, FALSE, sizeof(double));
			g_ptr_array_add(series, s);
		}
		double x = (double)json_object_get_int_member(c, "threads");
		double y = json_object_get_double_member(r, "faults_per_s");
		g_array_append_val(s->x, x);
		g_array_append_val(s->y, y);
		g_free(title);
		json_node_unref(res);
	}
	if (!series->len)
		return;
	GString *dat = g_string_new("# threads faults_per_s, one block per series\n");
	GString *gp = g_string_new("");
	GString *cmd = g_string_new("plot ");
	for (unsigned j = 0; j < series->len; j++) {
		struct series *s = g_ptr_array_index(series, j);
		g_string_append_printf(dat, "# %s\n", s->title);
		/* Points in increasing thread order. */
		for (unsigned a = 0; a < s->x->len; a++) {
			unsigned best = a;
			for (unsigned k = a + 1; k < s->x->len; k++)
				if (g_array_index(s->x, double, k) < g_array_index(s->x, double, best))
					best = k;
			double tx = g_array_index(s->x, double, a), ty = g_array_index(s->y, double, a);
			g_array_index(s->x, double, a) = g_array_index(s->x, double, best);
			g_array_index(s->y, double, a) = g_array_index(s->y, double, best);
			g_array_index(s->x, double, best) = tx;
			g_array_index(s->y, double, best) = ty;
			g_string_append_printf(dat, "%g %.1f\n", g_array_index(s->x, double, a),
					       g_array_index(s->y, double, a));
		}
		g_string_append(dat, "\n\n");
		g_string_append_printf(cmd, "%s'throughput.dat' index %u using 1:2 with linespoints "
				       "lw 2 title '%s'", j ? ", \\\n     " : "", j, s->title);
	}
	/* The same plot as SVG (for pages) and PNG (for mail and slides). */
	static const char *const terms[][2] = {
		{ "svg size 800,500 dynamic font 'sans,11'", "throughput.svg" },
		{ "pngcairo size 800,500 font 'sans,10'", "throughput.png" },
	};
	for (unsigned k = 0; k < G_N_ELEMENTS(terms); k++)
		g_string_append_printf(gp,
			"set terminal %s\nset output '%s'\n"
			"set title '%s: page faults per simulated second'\n"
			"set xlabel 'threads'\nset ylabel 'faults/s'\n"
			"set key top left\nset grid\nset yrange [0:*]\nset logscale x 2\n"
			"%s\n", terms[k][0], terms[k][1], name, cmd->str);
	g_string_free(cmd, TRUE);
	char *p_dat = g_build_filename(out, "throughput.dat", NULL);
	char *p_gp = g_build_filename(out, "throughput.gp", NULL);
	write_file_atomic(p_dat, dat->str, dat->len, NULL);
	write_file_atomic(p_gp, gp->str, gp->len, NULL);
	char *argv[] = { "gnuplot", "throughput.gp", NULL };
	GError *err = NULL;
	int status = 0;
	if (!g_spawn_sync(out, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
			  &err))
		fprintf(stderr, "mmsim: cannot draw throughput.svg: %s (install gnuplot-nox)\n",
			err->message);
	else if (!g_spawn_check_wait_status(status, NULL))
		fprintf(stderr, "mmsim: gnuplot failed on %s\n", p_gp);
	g_clear_error(&err);
	g_free(p_dat);
	g_free(p_gp);
	g_string_free(dat, TRUE);
	g_string_free(gp, TRUE);
}

static void progress(GPtrArray *points, unsigned done, unsigned failed)
{
	if (!isatty(STDERR_FILENO))
		return;
	unsigned n = points->len, width = 30, fill = n ? done * width / n : width;
	fprintf(stderr, "\r[");
	for (unsigned i = 0; i < width; i++)
		fputc(i < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %u/%u points", done, n);
	if (failed)
		fprintf(stderr, ", %u failed", failed);
	if (done == n)
		fputc('\n', stderr);
	fflush(stderr);
}

int sweep_run(const char *file, char **sets, char **overs, int jobs, const char *out)
{
	g_autofree char *err = NULL;
	g_autoptr(GPtrArray) points = expand(sets, overs, &err);
	if (!points) {
		fprintf(stderr, "mmsim: %s\n", err);
		return EXIT_USAGE;
	}
	/* Validate every point before running any: a bad value writes nothing. */
	g_autofree char *name = NULL;
	for (unsigned i = 0; i < points->len; i++) {
		struct point *p = g_ptr_array_index(points, i);
		struct run_config *cfg = config_load(file, p->sets, &err);
		if (!cfg) {
			fprintf(stderr, "mmsim: point %s: %s\n", p->label, err);
			return EXIT_USAGE;
		}
		if (!name)
			name = g_strdup(cfg->name);
		config_free(cfg);
	}
	g_autofree char *pdir = g_build_filename(out, "points", NULL);
	if (g_mkdir_with_parents(pdir, 0755) != 0) {
		fprintf(stderr, "mmsim: cannot create %s: %s\n", pdir, g_strerror(errno));
		return EXIT_USAGE;
	}
	for (unsigned i = 0; i < points->len; i++) {
		struct point *p = g_ptr_array_index(points, i);
		char *leaf = g_strdup_printf("%03u-%s", i, p->label);
		g_strdelimit(leaf, "/ ", '_');
		p->dir = g_build_filename(pdir, leaf, NULL);
		g_free(leaf);
	}

	struct sigaction sa = { .sa_handler = on_sigint }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	unsigned next = 0, running = 0, done = 0, failed = 0;
	int worst = 0;
	progress(points, 0, 0);
	while ((next < points->len && !interrupted) || running) {
		while (!interrupted && next < points->len && running < (unsigned)jobs) {
			struct point *p = g_ptr_array_index(points, next++);
			fflush(stdout);
			fflush(stderr);
			pid_t pid = fork();
			if (pid < 0) {
				fprintf(stderr, "mmsim: fork: %s\n", g_strerror(errno));
				interrupted = 1;
				break;
			}
			if (pid == 0) {
				signal(SIGINT, SIG_DFL);
				signal(SIGTERM, SIG_DFL);
				struct run_config *cfg = config_load(file, p->sets, &err);
				if (!cfg) {
					fprintf(stderr, "mmsim: point %s: %s\n", p->label, err);
					_exit(EXIT_USAGE);
				}
				int rc = run_point(cfg, p->dir, true);
				fflush(stderr);
				_exit(rc);
			}
			p->pid = pid;
			running++;
		}
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR) {
				/* Pass the interrupt on: children stop, finished points stay. */
				for (unsigned i = 0; i < points->len; i++) {
					struct point *p = g_ptr_array_index(points, i);
					if (p->pid > 0 && p->status < 0)
						kill(p->pid, SIGTERM);
				}
				continue;
			}
			break;
		}
		for (unsigned i = 0; i < points->len; i++) {
			struct point *p = g_ptr_array_index(points, i);
			if (p->pid != pid)
				continue;
			running--;
			p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			if (p->status == 0) {
				done++;
				merge(points, out);
			} else {
				failed++;
				if (!interrupted)
					fprintf(stderr, "mmsim: point %s failed (exit status %d)\n",
						p->label, p->status);
				if (!worst)
					worst = p->status;
			}
			progress(points, done + failed, failed);
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	merge(points, out);
	if (done)
		plot(points, out, name);
	if (interrupted) {
		fprintf(stderr, "\nmmsim: interrupted: %u of %u points finished and kept in %s\n",
			done, points->len, out);
		return 130;
	}
	fprintf(stderr, "mmsim: %u of %u points finished; results in %s\n", done, points->len,
		out);
	return worst ? (worst == EXIT_VIOLATION ? EXIT_VIOLATION : EXIT_USAGE) : 0;
}
