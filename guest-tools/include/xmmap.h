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

#define XMMAP_EOF	1	/* XMMAP_WAITDATA: writers gone before the target */
#define XMMAP_FULL	2	/* XMMAP_WAITDATA: buffer full before the target */

#endif
