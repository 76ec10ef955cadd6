#ifndef IMPLICITSPARSE_CSUITESPARSE_SHIM_H
#define IMPLICITSPARSE_CSUITESPARSE_SHIM_H
// C surface of SuiteSparse (CHOLMOD, UMFPACK, SuiteSparse_config) and OpenBLAS
// (CBLAS, LAPACKE) as packaged by Debian bookworm. Not a stable Swift API:
// the `Sparse` module wraps every call.
#include <suitesparse/SuiteSparse_config.h>
#include <suitesparse/cholmod.h>
#include <suitesparse/umfpack.h>
#include <cblas.h>
#include <lapacke.h>

// OpenBLAS thread control (declared in openblas_config / cblas.h on some builds only).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

// SuiteSparse_config holds the printf hook; silencing it keeps CHOLMOD and
// UMFPACK off stderr whatever a caller's Common settings are.
static inline void isparse_silence_suitesparse(void) {
    SuiteSparse_config.printf_func = 0;
}
#endif
