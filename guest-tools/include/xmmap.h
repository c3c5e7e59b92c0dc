/*
 * xmmap.h -- user-visible definitions of the extended mmap() of pipes
 * (kernel variant "xmmap", patches/xmmap; model: docs/model.md).
 * A copy of the non-kernel part of the patch's include/linux/xmmap.h,
 * with the ioctl numbers spelled out so that no kernel header is needed.
 * Keep the two in step.
 */
#ifndef XMMAP_USER_H
#define XMMAP_USER_H

#define XMMAP_PAGES	16
#define XMMAP_SIZE	(XMMAP_PAGES * 4096)	/* bytes a mapped pipe holds at most */

struct xmmap_pos {
	unsigned long rpos;	/* position of the next byte to be consumed */
	unsigned long wpos;	/* one past the last committed (readable) byte */
	unsigned long limit;	/* one past the last position writers may fill now */
	unsigned long flags;	/* XMMAP_F_* */
};

#define XMMAP_F_MAPPED		1
#define XMMAP_F_NOWRITERS	2
#define XMMAP_F_NOREADERS	4

/* _IOR(0xE1,1,struct xmmap_pos), _IOWR(0xE1,2,unsigned long), ... (asm-i386/ioctl.h encoding) */
#define XMMAP_GETPOS	0x8010E101UL
#define XMMAP_WAITDATA	0xC004E102UL
#define XMMAP_WAITSPACE	0xC004E103UL
#define XMMAP_CONSUME	0x0000E104UL
#define XMMAP_COMMIT	0x0000E105UL

/* one step in one call (patches/xmmap/0005): n bytes consumed / committed,
 * then a wait as XMMAP_WAITDATA / XMMAP_WAITSPACE for target; n := 0 once
 * done, target := wpos / limit */
struct xmmap_step {
	unsigned long n;
	unsigned long target;
};
/* _IOWR(0xE1,7,struct xmmap_step), _IOWR(0xE1,8,struct xmmap_step) */
#define XMMAP_CONSUMEWAIT	0xC008E107UL
#define XMMAP_COMMITWAIT	0xC008E108UL

/*
 * Global counts of what the mapped path did since boot (docs/model.md
 * R-STATS-*): every field only grows and belongs to no stream.  Same
 * order and meaning as the kernel's struct; 24 unsigned longs, 96 bytes.
 */
struct xmmap_stats {
	unsigned long mmaps;		/* pipe mmap() calls that set up a mapping */
	unsigned long converts;		/* pipes switched from classic to mapped mode */
	unsigned long convert_copied;	/* bytes copied by those switches */
	unsigned long pages_alloc;	/* pages taken from the allocator */
	unsigned long pages_zeroed;	/* pages zero-filled whole (get_free_page) */
	unsigned long pages_spare;	/* allocated, then given back unused */
	unsigned long pages_freed;	/* freed once their bytes were consumed */
	unsigned long pages_released;	/* freed with the pipe (last iput) */
	unsigned long zaps;		/* zap_page_range() calls withdrawing pages */
	unsigned long pages_withdrawn;	/* mapping pages covered by those calls */
	unsigned long tlb_flushes;	/* zaps that flushed the TLB (current mm) */
	unsigned long faults_read;	/* read-end faults served with a page */
	unsigned long faults_write;	/* write-end faults served with a page */
	unsigned long fault_sleeps;	/* sleeps of faults waiting for data or room */
	unsigned long fault_fails;	/* faults ended by SIGBUS or BAD_PAGE */
	unsigned long xreads;		/* read() calls on mapped-mode pipes */
	unsigned long xwrites;		/* write() calls on mapped-mode pipes */
	unsigned long xrw_sleeps;	/* sleeps in them */
	unsigned long ioc_getpos;	/* XMMAP_GETPOS calls */
	unsigned long ioc_waitdata;	/* XMMAP_WAITDATA calls */
	unsigned long ioc_waitspace;	/* XMMAP_WAITSPACE calls */
	unsigned long ioc_consume;	/* XMMAP_CONSUME calls */
	unsigned long ioc_commit;	/* XMMAP_COMMIT calls */
	unsigned long ioc_sleeps;	/* sleeps in the xmmap ioctls */
	unsigned long ioc_consumewait;	/* XMMAP_CONSUMEWAIT calls */
	unsigned long ioc_commitwait;	/* XMMAP_COMMITWAIT calls */
	unsigned long pages_reused;	/* consumed pages kept for the next lap */
	unsigned long pages_scrubbed;	/* pages cleared for a new open file */
	unsigned long prefaulted;	/* ptes set ahead at a fault */
	unsigned long reuse_cleared;	/* reused pages cleared (FIFOs, reopened pipes) */
};

/* _IOR(0xE1,6,struct xmmap_stats): any pipe or FIFO, any end, any mode
 * (30 fields since patches/xmmap/0005; the 24-field kernel's 0x8060E106
 * is refused with EINVAL, so an old binary never misreads the counts) */
#define XMMAP_GETSTATS	0x8078E106UL

/* the field names, in struct order (for printing the counts) */
#define XMMAP_STATS_NAMES \
	"mmaps", "converts", "convert_copied", "pages_alloc", "pages_zeroed", \
	"pages_spare", "pages_freed", "pages_released", "zaps", "pages_withdrawn", \
	"tlb_flushes", "faults_read", "faults_write", "fault_sleeps", "fault_fails", \
	"xreads", "xwrites", "xrw_sleeps", "ioc_getpos", "ioc_waitdata", \
	"ioc_waitspace", "ioc_consume", "ioc_commit", "ioc_sleeps", \
	"ioc_consumewait", "ioc_commitwait", "pages_reused", "pages_scrubbed", \
	"prefaulted", "reuse_cleared"

#define XMMAP_EOF	1	/* XMMAP_WAITDATA: writers gone before the target */
#define XMMAP_FULL	2	/* XMMAP_WAITDATA: buffer full before the target */

#endif
