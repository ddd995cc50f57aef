/*
 * bench_mapsnap.c: how long the ledger of a stopped bridge's data
 * directory takes to open, with the status map built from the registry
 * or read from its snapshot (issue 18, docs/benchmarks.md "Status map
 * snapshot"), and to close, writing the snapshot.
 *
 *   bench_mapsnap DIR        opens read-only with DIR/map.snap, closes
 *   bench_mapsnap DIR none   the same without a snapshot (a build)
 *
 * Prints the wall and CPU seconds of the open and of the close, and the
 * ledger's map figures (map_loaded, map_load_seconds, map_build_seconds),
 * and the heap the open ledger holds (glibc's mallinfo2: bytes in use,
 * in use per log entry), which is the status map, the log's leaf hashes
 * and the store's caches (issue 18, "Memory at a million").
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "bridge/bridge.h"

/* Bytes of heap in use (small chunks and mmap'd blocks). */
static size_t
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static double
wall(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double
cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main(int argc, char **argv)
{
	struct bridge_config cfg;
	struct ledger_config lc;
	struct ledger_stats st;
	struct ledger *l;
	char err[512], p1[PATH_MAX], p2[PATH_MAX];
	double w, c;
	size_t h0, h1;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "none"))) {
		fprintf(stderr, "usage: bench_mapsnap DIR [none]\n");
		return 1;
	}
	if (config_load(&cfg, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_mapsnap: %s\n", err);
		return 1;
	}
	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(&cfg, cfg.db, p1, sizeof(p1));
	lc.origin = cfg.origin;
	lc.map_snapshot = argc == 3 ? NULL : config_path(&cfg, MAP_SNAP_FILE,
	    p2, sizeof(p2));
	h0 = heap_used();
	w = wall();
	c = cpu();
	if ((l = ledger_open(&lc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_mapsnap: %s\n", err);
		return 1;
	}
	printf("open_seconds %.3f cpu %.3f\n", wall() - w, cpu() - c);
	h1 = heap_used();
	ledger_stats(l, &st);
	printf("size %llu map_loaded %d map_load_seconds %.3f "
	    "map_build_seconds %.3f\n", (unsigned long long)ledger_size(l),
	    st.map_loaded, st.map_load_seconds, st.map_build_seconds);
	printf("heap_bytes %zu per_entry %.1f\n", h1 - h0, ledger_size(l) > 0 ?
	    (double)(h1 - h0) / (double)ledger_size(l) : 0.0);
	w = wall();
	c = cpu();
	ledger_close(l);
	printf("close_seconds %.3f cpu %.3f\n", wall() - w, cpu() - c);
	return 0;
}
