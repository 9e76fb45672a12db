/*
 * Page migration (models/mm/migrate.c): move a folio's contents to another frame while
 * its mappings are replaced by migration entries (mm.h is_migration_entry).  The hooks
 * other paths call when they meet a migration entry are here: each is one branch at its
 * site.  Docs: docs/rmap.md.
 */
#ifndef MMSIM_MIGRATE_H
#define MMSIM_MIGRATE_H

#include "mm/mm.h"

/*
 * migrate_pages for one isolated folio (the caller's reference, off the LRU): lock it,
 * try_to_migrate, allocate and copy, switch the page cache slot (file), restore the
 * mappings onto the new frame (remove_migration_ptes), free the old one.  Returns the new
 * folio, holding the caller's reference in place of the old one's, or NULL if the folio
 * was not migrated (it is still the caller's, mapped as before).  check_mm: the mm whose
 * checker follows frame copies (NULL: none).
 */
struct page *migrate_folio(struct sim_task *t, struct zone *z, struct mm_struct *check_mm,
			   struct page *p);

/* migration_entry_wait: a fault met a migration entry at addr of table pt; sleep until
 * that migration ends (no reference taken), then the access is retried. */
vm_fault_t migration_entry_wait(struct sim_task *t, struct mm_struct *mm, struct page *pt,
				unsigned long addr);
/* zap_nonpresent_ptes: clear a migration entry (PTL held); no page is touched, only the
 * rss counter the entry kept. */
void zap_migration_pte(struct sim_task *t, struct mm_struct *mm, pteval_t *pte,
		       unsigned long addr);
/* change_pte_range: a writable migration entry becomes read-only (PTL held). */
void change_migration_pte(struct sim_task *t, struct mm_struct *mm, pteval_t *pte);
/* copy_nonpresent_pte: fork copies a migration entry into the child (both PTLs held);
 * for a private (COW) mapping both become read-only. */
void copy_migration_pte(struct sim_task *t, struct vm_area_struct *src_vma,
			struct mm_struct *dst_mm, pteval_t *src, pteval_t *dst, unsigned long addr);
/* The checker: NULL if e (non-present, non-zero) is a migration entry of a folio being
 * migrated now, else a message. */
char *migration_entry_check(pteval_t e, unsigned long va);
/* End of a run: forget the folios' wait objects (host memory). */
void migrate_reset(void);

/* The folio lock of anonymous frame pfn (PG_locked): taken by migration, by swap-out
 * while the folio is written and by do_swap_page while it is read or mapped. */
struct mutex *folio_lock_anon(uint64_t pfn);

#endif
