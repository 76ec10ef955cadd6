#include "PETScShim.h"

#include <petsc.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char isp_message[4096];
static int isp_started_here = 0;

// Records the first message of an error (PETSc calls the handler again for every frame it
// unwinds, with PETSC_ERROR_REPEAT): no traceback is printed, the caller gets the code.
static PetscErrorCode isp_error_handler(MPI_Comm comm, int line, const char *function, const char *file,
                                        PetscErrorCode code, PetscErrorType type, const char *message,
                                        void *context) {
    (void)comm; (void)file; (void)context;
    if (type == PETSC_ERROR_INITIAL) {
        const char *text = message;
        if (!text || !*text) PetscErrorMessage(code, &text, NULL);
        snprintf(isp_message, sizeof isp_message, "%s (PETSc error %d in %s, line %d)",
                 text ? text : "unknown error", (int)code, function ? function : "?", line);
    }
    return code;
}

const char *isp_error_message(void) { return isp_message; }

void isp_set_error_message(const char *message) {
    snprintf(isp_message, sizeof isp_message, "%s", message ? message : "");
}

static int isp_mpi_failed(int code, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    snprintf(isp_message, sizeof isp_message, "%s failed: %.*s", what, length, text);
    return code == 0 ? 1 : code;
}

#define ISP_MPI(call, what) do { int isp_code_ = (call); if (isp_code_ != MPI_SUCCESS) return isp_mpi_failed(isp_code_, what); } while (0)

int isp_initialize(const char *options) {
    PetscBool initialized = PETSC_FALSE;
    PetscInitialized(&initialized);
    if (initialized) return 0;
    int mpiStarted = 0;
    MPI_Initialized(&mpiStarted);
    PetscErrorCode code = PetscInitializeNoArguments();
    if (code) {
        snprintf(isp_message, sizeof isp_message, "PetscInitialize failed (error %d)", (int)code);
        return code;
    }
    isp_started_here = 1;
    PetscPushErrorHandler(isp_error_handler, NULL);
    // MPI errors come back as codes, not aborts.
    MPI_Comm_set_errhandler(PETSC_COMM_WORLD, MPI_ERRORS_RETURN);
    PetscCall(PetscMemorySetGetMaximumUsage());
    if (options && *options) PetscCall(PetscOptionsInsertString(NULL, options));
    return 0;
}

int isp_insert_options(const char *options) {
    if (options && *options) PetscCall(PetscOptionsInsertString(NULL, options));
    return 0;
}

int isp_finalize(void) {
    PetscBool initialized = PETSC_FALSE, finalized = PETSC_FALSE;
    PetscInitialized(&initialized);
    PetscFinalized(&finalized);
    if (!initialized || finalized) return 0;
    return PetscFinalize();
}

int isp_is_initialized(void) {
    PetscBool initialized = PETSC_FALSE, finalized = PETSC_FALSE;
    PetscInitialized(&initialized);
    PetscFinalized(&finalized);
    return initialized && !finalized;
}

int isp_rank(void) {
    int rank = 0;
    MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
    return rank;
}

int isp_size(void) {
    int size = 1;
    MPI_Comm_size(PETSC_COMM_WORLD, &size);
    return size;
}

static MPI_Op isp_op(int op) { return op == 1 ? MPI_MAX : (op == 2 ? MPI_MIN : MPI_SUM); }

int isp_allreduce_double(double *values, int count, int op) {
    ISP_MPI(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, isp_op(op), PETSC_COMM_WORLD), "MPI_Allreduce");
    return 0;
}

int isp_allreduce_int64(int64_t *values, int count, int op) {
    ISP_MPI(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_INT64_T, isp_op(op), PETSC_COMM_WORLD), "MPI_Allreduce");
    return 0;
}

int isp_exscan_int64(int64_t value, int64_t *result) {
    int64_t out = 0;
    ISP_MPI(MPI_Exscan(&value, &out, 1, MPI_INT64_T, MPI_SUM, PETSC_COMM_WORLD), "MPI_Exscan");
    // MPI leaves rank 0's result undefined.
    *result = isp_rank() == 0 ? 0 : out;
    return 0;
}

int isp_broadcast_bytes(char *buffer, int count, int root) {
    ISP_MPI(MPI_Bcast(buffer, count, MPI_CHAR, root, PETSC_COMM_WORLD), "MPI_Bcast");
    return 0;
}

int isp_allgather_int64(int64_t value, int64_t *values) {
    ISP_MPI(MPI_Allgather(&value, 1, MPI_INT64_T, values, 1, MPI_INT64_T, PETSC_COMM_WORLD), "MPI_Allgather");
    return 0;
}

void isp_free(void *pointer) { free(pointer); }

int isp_barrier(void) {
    ISP_MPI(MPI_Barrier(PETSC_COMM_WORLD), "MPI_Barrier");
    return 0;
}

int isp_alltoallv_entries(const int *send_counts, const int32_t *rows, const int32_t *columns,
                          const double *values, int32_t **received_rows, int32_t **received_columns,
                          double **received_values, int64_t *received) {
    int size = isp_size();
    int *receive_counts = calloc((size_t)size, sizeof(int));
    int *send_offsets = calloc((size_t)size, sizeof(int));
    int *receive_offsets = calloc((size_t)size, sizeof(int));
    if (!receive_counts || !send_offsets || !receive_offsets) {
        free(receive_counts); free(send_offsets); free(receive_offsets);
        isp_set_error_message("out of memory for the entry exchange");
        return PETSC_ERR_MEM;
    }
    int code = MPI_Alltoall(send_counts, 1, MPI_INT, receive_counts, 1, MPI_INT, PETSC_COMM_WORLD);
    if (code != MPI_SUCCESS) {
        free(receive_counts); free(send_offsets); free(receive_offsets);
        return isp_mpi_failed(code, "MPI_Alltoall");
    }
    int64_t total = 0, sent = 0;
    for (int r = 0; r < size; r++) {
        send_offsets[r] = (int)sent;
        receive_offsets[r] = (int)total;
        sent += send_counts[r];
        total += receive_counts[r];
    }
    if (total > INT32_MAX || sent > INT32_MAX) {
        free(receive_counts); free(send_offsets); free(receive_offsets);
        isp_set_error_message("more than 2^31 - 1 matrix entries sent to or received by one rank: use more ranks");
        return PETSC_ERR_SUP;
    }
    int32_t *out_rows = malloc((size_t)(total ? total : 1) * sizeof(int32_t));
    int32_t *out_columns = malloc((size_t)(total ? total : 1) * sizeof(int32_t));
    double *out_values = malloc((size_t)(total ? total : 1) * sizeof(double));
    if (!out_rows || !out_columns || !out_values) {
        free(out_rows); free(out_columns); free(out_values);
        free(receive_counts); free(send_offsets); free(receive_offsets);
        isp_set_error_message("out of memory for the received matrix entries");
        return PETSC_ERR_MEM;
    }
    code = MPI_Alltoallv(rows, send_counts, send_offsets, MPI_INT32_T, out_rows, receive_counts, receive_offsets,
                         MPI_INT32_T, PETSC_COMM_WORLD);
    if (code == MPI_SUCCESS)
        code = MPI_Alltoallv(columns, send_counts, send_offsets, MPI_INT32_T, out_columns, receive_counts,
                             receive_offsets, MPI_INT32_T, PETSC_COMM_WORLD);
    if (code == MPI_SUCCESS)
        code = MPI_Alltoallv(values, send_counts, send_offsets, MPI_DOUBLE, out_values, receive_counts,
                             receive_offsets, MPI_DOUBLE, PETSC_COMM_WORLD);
    free(receive_counts); free(send_offsets); free(receive_offsets);
    if (code != MPI_SUCCESS) {
        free(out_rows); free(out_columns); free(out_values);
        return isp_mpi_failed(code, "MPI_Alltoallv");
    }
    *received_rows = out_rows;
    *received_columns = out_columns;
    *received_values = out_values;
    *received = total;
    return 0;
}

// MARK: - Matrices

int isp_matrix_create(int local_only, int local_rows, int global_rows, const int32_t *row_pointers,
                      const int32_t *columns, const double *values, int symmetric, int positive_definite,
                      void **matrix) {
    Mat a = NULL;
    MPI_Comm comm = local_only ? PETSC_COMM_SELF : PETSC_COMM_WORLD;
    PetscCall(MatCreate(comm, &a));
    PetscCall(MatSetSizes(a, local_rows, local_rows, global_rows, global_rows));
    PetscCall(MatSetType(a, MATAIJ));
    // Both calls are made; the one matching the type (SeqAIJ on one rank, MPIAIJ otherwise)
    // preallocates from the CSR arrays and copies the values.
    PetscCall(MatSeqAIJSetPreallocationCSR(a, row_pointers, columns, values));
    PetscCall(MatMPIAIJSetPreallocationCSR(a, row_pointers, columns, values));
    if (symmetric) {
        PetscCall(MatSetOption(a, MAT_SYMMETRIC, PETSC_TRUE));
        PetscCall(MatSetOption(a, MAT_SYMMETRY_ETERNAL, PETSC_TRUE));
    }
    if (positive_definite) PetscCall(MatSetOption(a, MAT_SPD, PETSC_TRUE));
    *matrix = a;
    return 0;
}

int isp_matrix_update(void *matrix, int local_rows, const int32_t *row_pointers, const int32_t *columns,
                      const double *values) {
    Mat a = (Mat)matrix;
    PetscInt first = 0, end = 0;
    PetscCall(MatGetOwnershipRange(a, &first, &end));
    PetscCheck(end - first == local_rows, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ,
               "the update has %d local rows, the matrix %d", local_rows, (int)(end - first));
    PetscCall(MatSetOption(a, MAT_NEW_NONZERO_LOCATION_ERR, PETSC_TRUE));
    for (int i = 0; i < local_rows; i++) {
        PetscInt row = first + i, count = row_pointers[i + 1] - row_pointers[i];
        PetscCall(MatSetValues(a, 1, &row, count, columns + row_pointers[i], values + row_pointers[i], INSERT_VALUES));
    }
    PetscCall(MatAssemblyBegin(a, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(a, MAT_FINAL_ASSEMBLY));
    return 0;
}

static PetscErrorCode isp_copy_in(Vec v, const double *x) {
    PetscScalar *array;
    PetscInt n;
    PetscCall(VecGetLocalSize(v, &n));
    PetscCall(VecGetArray(v, &array));
    memcpy(array, x, (size_t)n * sizeof(double));
    PetscCall(VecRestoreArray(v, &array));
    return 0;
}

static PetscErrorCode isp_copy_out(Vec v, double *x) {
    const PetscScalar *array;
    PetscInt n;
    PetscCall(VecGetLocalSize(v, &n));
    PetscCall(VecGetArrayRead(v, &array));
    memcpy(x, array, (size_t)n * sizeof(double));
    PetscCall(VecRestoreArrayRead(v, &array));
    return 0;
}

int isp_matrix_multiply(void *matrix, const double *x, double *y, int transposed) {
    Mat a = (Mat)matrix;
    Vec vx, vy;
    PetscCall(MatCreateVecs(a, &vx, &vy));
    PetscCall(isp_copy_in(vx, x));
    if (transposed) PetscCall(MatMultTranspose(a, vx, vy));
    else PetscCall(MatMult(a, vx, vy));
    PetscCall(isp_copy_out(vy, y));
    PetscCall(VecDestroy(&vx));
    PetscCall(VecDestroy(&vy));
    return 0;
}

int isp_matrix_ownership(void *matrix, int *first_row, int *end_row, int *global_rows) {
    PetscInt first = 0, end = 0, m = 0, n = 0;
    PetscCall(MatGetOwnershipRange((Mat)matrix, &first, &end));
    PetscCall(MatGetSize((Mat)matrix, &m, &n));
    *first_row = (int)first;
    *end_row = (int)end;
    *global_rows = (int)m;
    return 0;
}

int isp_matrix_ghosts(void *matrix, int *ghosts) {
    PetscInt count = 0;
    const PetscInt *indices = NULL;
    PetscCall(MatGetGhosts((Mat)matrix, &count, &indices));
    *ghosts = (int)count;
    return 0;
}

int isp_matrix_memory(void *matrix, double *bytes) {
    MatInfo info;
    PetscCall(MatGetInfo((Mat)matrix, MAT_LOCAL, &info));
    *bytes = info.memory;
    return 0;
}

int isp_matrix_destroy(void **matrix) {
    if (!matrix || !*matrix) return 0;
    Mat a = (Mat)*matrix;
    PetscCall(MatDestroy(&a));
    *matrix = NULL;
    return 0;
}

// MARK: - KSP

int isp_ksp_create(void *matrix, const char *method, const char *preconditioner, double rtol,
                   int max_iterations, int restart, void **out) {
    Mat a = (Mat)matrix;
    MPI_Comm comm;
    KSP ksp;
    PC pc;
    PetscCall(PetscObjectGetComm((PetscObject)a, &comm));
    PetscCall(KSPCreate(comm, &ksp));
    PetscCall(KSPSetOperators(ksp, a, a));
    PetscCall(KSPSetType(ksp, method));
    PetscCall(KSPGetPC(ksp, &pc));
    if (strcmp(preconditioner, "hypre") == 0) {
        PetscCall(PCSetType(pc, PCHYPRE));
        PetscCall(PCHYPRESetType(pc, "boomeramg"));
    } else {
        PetscCall(PCSetType(pc, preconditioner));
    }
    // GAMG with unsmoothed aggregates: the smoothed prolongator's fill on the rows of hubs made
    // GAMG's set-up take 16.9 s instead of 0.14 s on a 2·10⁴-node power-law graph, while on grids
    // unsmoothed is as fast or faster (docs/SCALING.md, run-petsc.sh's gamg section). "-pc_gamg_agg_nsmooths 1" in the options restores it.
    if (strcmp(preconditioner, PCGAMG) == 0) PetscCall(PCGAMGSetNSmooths(pc, 0));
    PetscCall(KSPSetTolerances(ksp, rtol, 0.0, PETSC_DEFAULT, max_iterations));
    if (strcmp(method, KSPGMRES) == 0) PetscCall(KSPGMRESSetRestart(ksp, restart));
    if (strcmp(method, KSPCG) == 0) {
        PetscCall(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED));
    } else if (strcmp(method, KSPGMRES) == 0 || strcmp(method, KSPBCGS) == 0) {
        PetscCall(KSPSetPCSide(ksp, PC_RIGHT));
        PetscCall(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED));
    }
    PetscCall(KSPSetFromOptions(ksp));
    *out = ksp;
    return 0;
}

int isp_ksp_setup(void *ksp) {
    PetscCall(KSPSetUp((KSP)ksp));
    return 0;
}

int isp_ksp_operators_changed(void *ksp, void *matrix) {
    PetscCall(KSPSetOperators((KSP)ksp, (Mat)matrix, (Mat)matrix));
    return 0;
}

int isp_ksp_solve(void *solver, const double *b, double *x, int nonzero_guess, int transposed,
                  int *iterations, int *reason, double *residual_norm) {
    KSP ksp = (KSP)solver;
    Mat a;
    Vec vb, vx;
    PetscInt its = 0;
    KSPConvergedReason why;
    PetscReal norm = 0;
    PetscCall(KSPGetOperators(ksp, &a, NULL));
    PetscCall(MatCreateVecs(a, &vx, &vb));
    PetscCall(isp_copy_in(vb, b));
    if (nonzero_guess) PetscCall(isp_copy_in(vx, x));
    PetscCall(KSPSetInitialGuessNonzero(ksp, nonzero_guess ? PETSC_TRUE : PETSC_FALSE));
    if (transposed) PetscCall(KSPSolveTranspose(ksp, vb, vx));
    else PetscCall(KSPSolve(ksp, vb, vx));
    PetscCall(KSPGetIterationNumber(ksp, &its));
    PetscCall(KSPGetConvergedReason(ksp, &why));
    PetscCall(KSPGetResidualNorm(ksp, &norm));
    PetscCall(isp_copy_out(vx, x));
    PetscCall(VecDestroy(&vb));
    PetscCall(VecDestroy(&vx));
    *iterations = (int)its;
    *reason = (int)why;
    *residual_norm = (double)norm;
    return 0;
}

const char *isp_ksp_reason_name(int reason) { return KSPConvergedReasons[reason]; }

int isp_ksp_levels(void *solver, int *levels) {
    PC pc;
    PetscBool isMG = PETSC_FALSE;
    PetscInt count = 0;
    *levels = 0;
    PetscCall(KSPGetPC((KSP)solver, &pc));
    PetscCall(PetscObjectTypeCompareAny((PetscObject)pc, &isMG, PCGAMG, PCMG, ""));
    if (isMG) {
        PetscCall(PCMGGetLevels(pc, &count));
        *levels = (int)count;
    }
    return 0;
}

int isp_ksp_destroy(void **solver) {
    if (!solver || !*solver) return 0;
    KSP ksp = (KSP)*solver;
    PetscCall(KSPDestroy(&ksp));
    *solver = NULL;
    return 0;
}

int isp_memory(double *current, double *maximum) {
    PetscLogDouble now = 0, most = 0;
    PetscCall(PetscMemoryGetCurrentUsage(&now));
    PetscCall(PetscMemoryGetMaximumUsage(&most));
    *current = now;
    *maximum = most;
    return 0;
}

int isp_matrix_partition(void *matrix, const char *type, void **partitioned, int32_t **old_rows, int *count) {
    Mat a = (Mat)matrix, adjacency = NULL, b = NULL;
    MatPartitioning partitioning = NULL;
    IS owners = NULL, rows = NULL;
    const PetscInt *indices = NULL;
    PetscInt n = 0;
    *partitioned = NULL;
    *old_rows = NULL;
    *count = 0;
    PetscCall(MatConvert(a, MATMPIADJ, MAT_INITIAL_MATRIX, &adjacency));
    PetscCall(MatPartitioningCreate(PetscObjectComm((PetscObject)a), &partitioning));
    PetscCall(MatPartitioningSetAdjacency(partitioning, adjacency));
    PetscCall(MatPartitioningSetType(partitioning, type));
    PetscCall(MatPartitioningSetFromOptions(partitioning));
    PetscCall(MatPartitioningApply(partitioning, &owners));
    // The rows each rank receives (old global numbers), sorted to keep their relative order.
    PetscCall(ISBuildTwoSided(owners, NULL, &rows));
    PetscCall(ISSort(rows));
    PetscCall(MatCreateSubMatrix(a, rows, rows, MAT_INITIAL_MATRIX, &b));
    PetscCall(ISGetLocalSize(rows, &n));
    PetscCall(ISGetIndices(rows, &indices));
    int32_t *out = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    PetscCheck(out != NULL, PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot allocate %d row indices", (int)n);
    for (PetscInt i = 0; i < n; i++) out[i] = (int32_t)indices[i];
    PetscCall(ISRestoreIndices(rows, &indices));
    PetscCall(ISDestroy(&rows));
    PetscCall(ISDestroy(&owners));
    PetscCall(MatPartitioningDestroy(&partitioning));
    PetscCall(MatDestroy(&adjacency));
    *partitioned = b;
    *old_rows = out;
    *count = (int)n;
    return 0;
}

int isp_matrix_local_csr(void *matrix, int32_t *row_pointers, int32_t *columns, double *values, int *local_rows, int *entries) {
    Mat a = (Mat)matrix;
    PetscInt first = 0, end = 0, total = 0;
    PetscCall(MatGetOwnershipRange(a, &first, &end));
    for (PetscInt row = first; row < end; row++) {
        PetscInt ncols = 0;
        const PetscInt *cols = NULL;
        const PetscScalar *vals = NULL;
        PetscCall(MatGetRow(a, row, &ncols, &cols, &vals));
        if (row_pointers != NULL) {
            row_pointers[row - first] = (int32_t)total;
            // Insertion sort by column (rows are short; MatGetRow of MPIAIJ is sorted already).
            for (PetscInt k = 0; k < ncols; k++) {
                PetscInt j = total + k;
                while (j > total && columns[j - 1] > (int32_t)cols[k]) {
                    columns[j] = columns[j - 1];
                    values[j] = values[j - 1];
                    j--;
                }
                columns[j] = (int32_t)cols[k];
                values[j] = (double)vals[k];
            }
        }
        total += ncols;
        PetscCall(MatRestoreRow(a, row, &ncols, &cols, &vals));
    }
    if (row_pointers != NULL) row_pointers[end - first] = (int32_t)total;
    *local_rows = (int)(end - first);
    *entries = (int)total;
    return 0;
}

int isp_matrix_reblock(void *matrix, int first_row, int end_row, void **reblocked) {
    Mat a = (Mat)matrix, b = NULL;
    IS rows = NULL;
    *reblocked = NULL;
    PetscCall(ISCreateStride(PetscObjectComm((PetscObject)a), end_row - first_row, first_row, 1, &rows));
    PetscCall(MatCreateSubMatrix(a, rows, rows, MAT_INITIAL_MATRIX, &b));
    PetscCall(ISDestroy(&rows));
    *reblocked = b;
    return 0;
}
