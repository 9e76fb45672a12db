/*
 * mmsim command line: run, sweep, check, list.  Parsed with GLib's GOption, one option
 * group per subcommand.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "mmsim-config.h"
#include "config.h"
#include "run.h"
#include "sweep.h"
#include "die.h"
#include "hw/machine.h"
#include "schemes/scheme.h"
#include "mm/khugepaged.h"

static const char usage[] =
	"usage: mmsim COMMAND [OPTIONS]\n"
	"\n"
	"Discrete-event simulator of Linux memory-management locking.\n"
	"\n"
	"Commands:\n"
	"  run FILE.lua [--set KEY=VALUE]... [--seed N] [--out DIR]\n"
	"        run one scenario point; writes DIR/summary.csv, results.json, config.json,\n"
	"        perf.json (DIR defaults to out/<scenario name>)\n"
	"  sweep FILE.lua --over KEY=V1,V2,... [--over ...] [--set ...] [--seed N]\n"
	"        [--jobs N] [--out DIR]\n"
	"        run every combination of the --over values, each point in its own process;\n"
	"        writes the merged summary.csv, results.json and throughput.svg\n"
	"  check FILE.lua [--set KEY=VALUE]...\n"
	"        validate a scenario and print its resolved configuration\n"
	"  list schemes|collapse|machines|scenarios\n"
	"\n"
	"Exit status: 0 success, 2 bad input (scenario, option), 3 the simulation failed a\n"
	"correctness check (invariant, deadlock, deadline), 130 interrupted.\n"
	"Run 'mmsim COMMAND --help' for a command's options.\n";

static char **opt_sets, **opt_overs, *opt_out;
static gint64 opt_seed = -1;
static int opt_jobs;

static const GOptionEntry common_entries[] = {
	{ "set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &opt_sets,
	  "Override a scenario parameter or field", "KEY=VALUE" },
	{ "seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "Random seed (overrides the scenario's)",
	  "N" },
	{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out, "Output directory", "DIR" },
	G_OPTION_ENTRY_NULL,
};
static const GOptionEntry sweep_entries[] = {
	{ "over", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_overs,
	  "Sweep KEY over the listed values (repeatable: cartesian product)", "KEY=V1,V2,..." },
	{ "jobs", 'j', 0, G_OPTION_ARG_INT, &opt_jobs,
	  "Points run in parallel (default: number of cores)", "N" },
	G_OPTION_ENTRY_NULL,
};

/* --seed N is --set seed=N, applied last. */
static char **collect_sets(void)
{
	GPtrArray *a = g_ptr_array_new();
	for (char **s = opt_sets; s && *s; s++)
		g_ptr_array_add(a, g_strdup(*s));
	if (opt_seed >= 0)
		g_ptr_array_add(a, g_strdup_printf("seed=%lld", (long long)opt_seed));
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

static int parse(int *argc, char ***argv, const char *cmd, const char *args, bool sweep)
{
	GError *err = NULL;
	GOptionContext *ctx = g_option_context_new(args);
	char *summary = g_strdup_printf("mmsim %s", cmd);
	g_option_context_set_summary(ctx, summary);
	g_option_context_add_main_entries(ctx, common_entries, NULL);
	if (sweep)
		g_option_context_add_main_entries(ctx, sweep_entries, NULL);
	bool ok = g_option_context_parse(ctx, argc, argv, &err);
	if (!ok)
		fprintf(stderr, "mmsim %s: %s\n", cmd, err->message);
	g_clear_error(&err);
	g_free(summary);
	g_option_context_free(ctx);
	return ok ? 0 : EXIT_USAGE;
}

static const char *need_file(int argc, char **argv, const char *cmd)
{
	if (argc != 2) {
		fprintf(stderr, "mmsim %s: expected one scenario file (see mmsim %s --help)\n", cmd,
			cmd);
		return NULL;
	}
	if (!g_file_test(argv[1], G_FILE_TEST_IS_REGULAR)) {
		fprintf(stderr, "mmsim %s: %s: no such file\n", cmd, argv[1]);
		return NULL;
	}
	return argv[1];
}

static char *default_out(const char *file)
{
	char *base = g_path_get_basename(file);
	if (g_str_has_suffix(base, ".lua"))
		base[strlen(base) - 4] = 0;
	char *dir = g_build_filename("out", base, NULL);
	g_free(base);
	return dir;
}

/* Options, the one scenario file, and its configuration; NULL after reporting why not. */
static struct run_config *load_scenario(int argc, char **argv, const char *cmd)
{
	if (parse(&argc, &argv, cmd, "FILE.lua", false))
		return NULL;
	const char *file = need_file(argc, argv, cmd);
	if (!file)
		return NULL;
	char **sets = collect_sets(), *err = NULL;
	struct run_config *cfg = config_load(file, sets, &err);
	if (!cfg)
		fprintf(stderr, "mmsim: %s\n", err);
	g_strfreev(sets);
	g_free(err);
	return cfg;
}

static int cmd_run(int argc, char **argv)
{
	struct run_config *cfg = load_scenario(argc, argv, "run");
	if (!cfg)
		return EXIT_USAGE;
	char *out = opt_out ? g_strdup(opt_out) : default_out(cfg->file);
	int rc = run_point(cfg, out, false);
	if (rc == 0)
		fprintf(stderr, "mmsim: results in %s\n", out);
	fflush(stderr);
	/* Skip SimGrid's static teardown: results are written, nothing else is owed. */
	_exit(rc);
}

static int cmd_sweep(int argc, char **argv)
{
	if (parse(&argc, &argv, "sweep", "FILE.lua", true))
		return EXIT_USAGE;
	const char *file = need_file(argc, argv, "sweep");
	if (!file)
		return EXIT_USAGE;
	if (!opt_overs) {
		fprintf(stderr, "mmsim sweep: at least one --over KEY=V1,V2,... is required\n");
		return EXIT_USAGE;
	}
	int jobs = opt_jobs > 0 ? opt_jobs : (int)g_get_num_processors();
	if (opt_jobs < 0 || jobs > 1024) {
		fprintf(stderr, "mmsim sweep: --jobs must be in [1, 1024]\n");
		return EXIT_USAGE;
	}
	g_autofree char *out = opt_out ? g_strdup(opt_out) : default_out(file);
	g_auto(GStrv) sets = collect_sets();
	return sweep_run(file, sets, opt_overs, jobs, out);
}

static int cmd_check(int argc, char **argv)
{
	struct run_config *cfg = load_scenario(argc, argv, "check");
	if (!cfg)
		return EXIT_USAGE;
	JsonGenerator *g = json_generator_new();
	JsonNode *root = config_to_json(cfg);
	json_generator_set_pretty(g, TRUE);
	json_generator_set_indent(g, 2);
	json_generator_set_root(g, root);
	char *text = json_generator_to_data(g, NULL);
	printf("%s\n", text);
	printf("# parameters (override with --set NAME=VALUE):\n");
	for (unsigned i = 0; i < cfg->params->len; i++) {
		struct scenario_param *p = g_ptr_array_index(cfg->params, i);
		printf("#   %-16s = %-10s %s%s\n", p->name, p->value, p->description,
		       p->overridden ? " (set)" : "");
	}
	g_free(text);
	json_node_unref(root);
	g_object_unref(g);
	config_free(cfg);
	return 0;
}

static gint cmp_path(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scenario files under dir and its subdirectories (except lib/, which holds helpers). */
static void collect_scenarios(const char *dir, GPtrArray *names)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *leaf;
	while (d && (leaf = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, leaf, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR) && strcmp(leaf, "lib")) {
			collect_scenarios(path, names);
			g_free(path);
		} else if (g_str_has_suffix(leaf, ".lua")) {
			g_ptr_array_add(names, path);
		} else {
			g_free(path);
		}
	}
	if (d)
		g_dir_close(d);
}

static int cmd_list(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "mmsim list: expected schemes, collapse, machines or scenarios\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "schemes")) {
		for (int i = 0; mm_schemes[i]; i++)
			printf("%-16s %s\n", mm_schemes[i]->name, mm_schemes[i]->description);
	} else if (!strcmp(argv[1], "collapse")) {
		for (int i = 0; collapse_schemes[i]; i++)
			printf("%-16s %s\n", collapse_schemes[i]->name,
			       collapse_schemes[i]->description);
	} else if (!strcmp(argv[1], "machines")) {
		char **desc, **names = machine_list(&desc);
		for (int i = 0; names[i]; i++)
			printf("%-20s %s\n", names[i], desc[i]);
		g_strfreev(names);
		g_strfreev(desc);
	} else if (!strcmp(argv[1], "scenarios")) {
		char *dir = g_build_filename(MMSIM_SOURCE_DIR, "scenarios", NULL);
		GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
		collect_scenarios(dir, names);
		g_ptr_array_sort(names, cmp_path);
		for (unsigned i = 0; i < names->len; i++) {
			char *path = names->pdata[i], *err = NULL;
			struct run_config *cfg = config_load(path, NULL, &err);
			printf("%-32s %s\n", path + strlen(MMSIM_SOURCE_DIR) + 1,
			       cfg ? cfg->description : err);
			config_free(cfg);
			g_free(err);
		}
		g_ptr_array_free(names, TRUE);
		g_free(dir);
	} else {
		fprintf(stderr, "mmsim list: unknown list '%s' (schemes, collapse, machines, "
			"scenarios)\n",
			argv[1]);
		return EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mmsim %s\n", MMSIM_VERSION);
		return 0;
	}
	static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
		{ "run", cmd_run }, { "sweep", cmd_sweep }, { "check", cmd_check },
		{ "list", cmd_list },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mmsim: unknown command '%s'\n\n%s", argv[1], usage);
	return EXIT_USAGE;
}
