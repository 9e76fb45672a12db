/*
 * Running one point (see run.h).  Tasks are placed on CPUs 0, 1, 2, ... in the order of
 * the scenario's task groups; every task of the scenario shares one mm (threads of one
 * process).  The secondary MMU's vCPUs and then the rmap walker threads take the CPUs
 * after them.
 */
#include <stdio.h>
#include "run.h"
#include "config.h"
#include "engine.h"
#include "workload.h"
#include "report.h"
#include "die.h"
#include "lockstat.h"
#include "sync/rcu.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mmsim-config.h"
#include "schemes/scheme.h"
#include "mm/khugepaged.h"
#include "mm/mmu_notifier.h"
#include "mm/vmscan.h"
#include "mm/migrate.h"
#include "mm/swap.h"

/* A broken address-space invariant ends the run at once: the report, status 3. */
static void run_violation(const char *report, void *arg)
{
	const struct run_config *cfg = arg;
	fprintf(stderr, "mmsim: %s: %s", cfg->file, report);
	fflush(stderr);
	_exit(EXIT_VIOLATION);
}

int run_point(struct run_config *cfg, const char *out_dir, bool quiet)
{
	const struct machine *m = cfg->machine;
	gint64 wall0 = g_get_monotonic_time();

	engine_init();
	/* The secondary MMU's vCPUs, if any, run on the CPUs after the scenario's. */
	int smmu_base = cfg->max_cpu + 1 > cfg->cpus ? cfg->max_cpu + 1 : cfg->cpus;
	int walker_base = smmu_base + cfg->smmu_cpus;
	engine_platform(m, walker_base + cfg->walker_cpus);
	/* Per-CPU state for every CPU of the machine: tasks may be placed anywhere. */
	struct zone *zone = zone_create(m->mem_bytes, m->nr_cpus);
	struct mm_struct *mm = mm_create(zone, cfg->scheme);
	mm->ptl_mode = (enum ptl_mode)cfg->ptl;
	mm->inject = (enum mm_inject)cfg->inject;
	mm->pt_free_rcu = cfg->pt_free == PT_FREE_RCU;
	mm->vma_free = (enum vma_free_kind)cfg->vma_free;
	mm->spf_walk_irqs_off = cfg->spf_walk_irqs_off;
	mm->anon_vma_lock = (enum anon_vma_lock_kind)cfg->anon_vma_lock;
	zone->nowait_fail = cfg->gfp_nowait_fail;
	if (cfg->swap_mb) {
		zone->swap = swap_create((uint64_t)cfg->swap_mb << 20, m->nr_cpus,
					 m->path.swap_read, m->path.swap_write);
		zone->swap->no_writeback = cfg->inject == INJECT_SWAP_NO_WRITEBACK;
	}
	/* THP: huge PMDs can appear, so PTL takers recheck the PMD (models/mm/huge_memory.c). */
	mm->thp = (enum thp_mode)cfg->thp;
	mm->pmd_recheck = cfg->thp != THP_NEVER;
	if (cfg->collapse) {
		struct khugepaged_params kp = {
			.ops = collapse_find(config_collapse_names[cfg->collapse]),
			.pages_to_scan = (unsigned)cfg->khugepaged_pages_to_scan,
			.scan_sleep_ms = cfg->khugepaged_scan_sleep_ms,
			.max_ptes_none = (unsigned)cfg->khugepaged_max_ptes_none,
			.max_ptes_swap = (unsigned)cfg->khugepaged_max_ptes_swap,
			.cpu = cfg->khugepaged_cpu,
			.should_stop = engine_users_done,
		};
		if (!kp.ops)
			sim_die("collapse scheme %s is not in collapse_schemes[]",
				config_collapse_names[cfg->collapse]);
		khugepaged_attach(mm, &kp);
	}
	mm_set_tree_lock(mm, (enum mm_tree_lock)cfg->tree_lock);
	mm->fault_prefetchw = cfg->prefetchw;
	mm->seq_shares_lock_line = cfg->seq_shares_lock_line;
	zone->lru_file = cfg->walker_cpus > 0;
	mm_set_violation_handler(run_violation, cfg);
	if (cfg->check)
		mm->checker = mm_checker_create();
	/* The scenario's files, in name order (ids 1, 2, ...: the checker's keys). */
	for (unsigned i = 0; i < cfg->files->len; i++) {
		const struct file_config *f = g_ptr_array_index(cfg->files, i);
		filemap_create(zone, f->name, f->pages, f->cached, f->read_ns,
			       (enum i_mmap_lock_kind)cfg->i_mmap_lock);
	}
	/* Schemes whose faults walk the VMA tree without mmap_lock free tree nodes and VMAs
	 * through RCU, and those whose faults may walk page tables under RCU alone
	 * (speculative, lockless) free page tables through it too: run the grace-period
	 * machinery (tick-driven, HZ=1000). */
	bool need_rcu = cfg->scheme->vma_lock != VMA_LOCK_NONE || cfg->scheme->speculative ||
			cfg->scheme->lockless_fault || mm->pt_free_rcu ||
			mm->vma_free == VMA_FREE_RCU || cfg->tree_lock == TREE_LOCK_SPINLOCK;
	if (need_rcu)
		rcu_init(RCU_TICK, 1e6, m->nr_cpus);
	sim_time_t duration = cfg->duration_ms > 0 ? (sim_time_t)llround(cfg->duration_ms * 1e9) :
						     SIM_TIME_MAX;
	for (unsigned gi = 0; gi < cfg->groups->len; gi++) {
		struct task_group *g = g_ptr_array_index(cfg->groups, gi);
		for (int i = 1; i <= g->count; i++) {
			int cpu = g->cpus[i - 1];
			char *name = g->count > 1 ? g_strdup_printf("%s/%d", g->name, i) :
						    g_strdup(g->name);
			struct sim_task *t = engine_spawn(name, cpu, false, workload_task_main, NULL);
			t->mm = mm;
			t->deadline = duration;
			rng_seed(&t->rng, cfg->seed, (uint64_t)t->id);
			if (need_rcu)
				rcu_register(t);
			workload_prepare(cfg, g, i, t);
		}
	}

	struct secondary_mmu *smmu = NULL;
	if (cfg->smmu_cpus) {
		struct secondary_mmu_params sp = { cfg->smmu_cpus, cfg->smmu_rate_per_ms,
						   cfg->smmu_callback_ns, cfg->smmu_sleeps };
		smmu = secondary_mmu_create(mm, &sp);
		/* vCPU threads (in KVM_RUN): they run until the scenario's duration ends and
		 * their work counts with everyone's. */
		for (int i = 0; i < cfg->smmu_cpus; i++) {
			char *name = g_strdup_printf("vcpu/%d", i + 1);
			struct sim_task *t = engine_spawn(name, smmu_base + i, false,
							  secondary_mmu_vcpu_main, smmu);
			t->mm = mm;
			t->deadline = duration;
			rng_seed(&t->rng, cfg->seed, (uint64_t)t->id);
			if (need_rcu)
				rcu_register(t);
		}
	}
	/* The rmap walker threads (kswapd-like kernel threads, no mm of their own): they
	 * run until the scenario's duration ends, so they never stop holding a lock or an
	 * isolated folio. */
	struct rmap_walker_params wparams = { zone, mm, (enum rmap_walker_kind)cfg->walker_kind,
					      (unsigned)cfg->walker_batch,
					      cfg->walker_interval_us };
	for (int i = 0; i < cfg->walker_cpus; i++) {
		char *name = g_strdup_printf("rmap_walker/%d", i + 1);
		struct sim_task *t = engine_spawn(name, walker_base + i, false, rmap_walker_main,
						  &wparams);
		t->deadline = duration;
		rng_seed(&t->rng, cfg->seed, (uint64_t)t->id);
		if (need_rcu)
			rcu_register(t);
	}
	if (need_rcu)
		engine_spawn("rcu_gp", 0, true, rcu_gp_kthread, NULL);
	if (mm->khugepaged) {
		struct sim_task *k = engine_spawn("khugepaged", cfg->khugepaged_cpu, true,
						  khugepaged_main, mm);
		k->mm = mm;
		k->drain = true; /* a collapse under way finishes before the end-of-run check */
	}

	struct engine_outcome out;
	engine_run((sim_time_t)llround(cfg->deadline_ms * 1e9), &out);
	if (out.report) {
		fprintf(stderr, "mmsim: %s: %s", cfg->file, out.report);
		return EXIT_VIOLATION;
	}
	if (MMSIM_DEBUG) {
		/* Whole-state check of the machine model (slow: debug builds only). */
		char *herr = hw_check(engine_hw());
		if (herr) {
			fprintf(stderr, "mmsim: %s: hardware model inconsistent: %s\n", cfg->file, herr);
			return EXIT_VIOLATION;
		}
	}

	struct point_result r = { .sim_time = out.end, .tasks = g_ptr_array_new(),
				  .metrics = workload_metrics(),
				  .window = duration == SIM_TIME_MAX ? 0 : duration, .mm = mm };
	GPtrArray *tasks = engine_tasks();
	for (unsigned i = 0; i < tasks->len; i++) {
		struct sim_task *t = &((struct engine_task *)g_ptr_array_index(tasks, i))->task;
		if (t->daemon)
			continue;
		struct task_summary *ts = g_new0(struct task_summary, 1);
		ts->name = (char *)t->name;
		ts->cpu = t->cpu;
		ts->end = t->now;
		ts->stats = t->stats;
		task_stats_merge(&r.total, &t->stats);
		g_ptr_array_add(r.tasks, ts);
	}
	if (rcu && rcu->violation) {
		fprintf(stderr, "mmsim: %s: RCU violation: %s\n", cfg->file, rcu->violation);
		return EXIT_VIOLATION;
	}
	char *mn_err = mmu_notifier_check_quiescent(mm);
	if (mn_err) {
		fprintf(stderr, "mmsim: %s: %s\n", cfg->file, mn_err);
		return EXIT_VIOLATION;
	}
	if (lockdep_report()) {
		fprintf(stderr, "mmsim: %s: lock order violation:\n%s", cfg->file, lockdep_report());
		return EXIT_VIOLATION;
	}
	if (cfg->check) {
		r.checked = true;
		mm_check(mm, &r.check);
		mm_checker_counts(mm->checker, &r.check.loads_verified, &r.check.stores_verified);
		if (r.check.error) {
			fprintf(stderr, "mmsim: %s: address-space check failed after the run: %s\n",
				cfg->file, r.check.error);
			return EXIT_VIOLATION;
		}
	}
	r.wall_s = (double)(g_get_monotonic_time() - wall0) / 1e6;
	r.simcalls = sim_simcalls;

	GError *err = NULL;
	if (!report_write_point(out_dir, cfg, &r, &err)) {
		fprintf(stderr, "mmsim: %s\n", err->message);
		return EXIT_USAGE;
	}
	if (!quiet) {
		uint64_t faults = r.total.fault_latency.count;
		fprintf(stderr, "mmsim: %s: %d threads, %llu faults in %.3f ms simulated, "
			"%.2f s wall (%.0f faults/s wall, %.2f simcalls/fault)\n",
			cfg->name, cfg->nr_tasks, (unsigned long long)faults,
			ps_to_ns(r.sim_time) / 1e6, r.wall_s,
			r.wall_s > 0 ? (double)faults / r.wall_s : 0.0,
			faults ? (double)r.simcalls / (double)faults : 0.0);
	}
	mm_checker_destroy(mm->checker);
	khugepaged_detach(mm);
	mm_destroy(mm);
	secondary_mmu_destroy(smmu);
	while (filemap_all()->len)
		filemap_destroy(zone, g_ptr_array_index(filemap_all(), 0));
	mm_reap_exited(zone);
	migrate_reset();
	swap_destroy(zone->swap);
	zone_destroy(zone);
	return 0;
}
