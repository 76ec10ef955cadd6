// STREAM-like triad a[i] = b[i] + s·c[i] over 3 arrays of 2·10⁷ doubles (480 MB, far beyond the
// caches), OpenMP threads from OMP_NUM_THREADS; prints the best of 10 passes in GB/s counting
// 24 bytes per element (two reads and one write, as STREAM counts; write-allocate not counted).
// Build: gcc -O3 -fopenmp stream_triad.c -o stream_triad
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const long n = 20000000;
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)), *c = malloc(n * sizeof(double));
    if (!a || !b || !c) return 1;
#pragma omp parallel for
    for (long i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }
    double best = 1e30;
    for (int pass = 0; pass < 10; pass++) {
        double t = omp_get_wtime();
#pragma omp parallel for
        for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
        t = omp_get_wtime() - t;
        if (t < best) best = t;
    }
    printf("{\"threads\": %d, \"GBps\": %.2f, \"check\": %.1f}\n", omp_get_max_threads(), 24.0 * n / best / 1e9, a[n / 2]);
    return 0;
}
