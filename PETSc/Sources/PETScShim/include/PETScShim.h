// Plain-C interface to PETSc and MPI for Swift: PETSc's error-checking macros, its global
// communicator and MPI's datatypes stay inside shim.c. Every function returning int returns
// 0 on success and a PETSc (or MPI) error code otherwise; `isp_error_message()` then holds the
// first message of that error (PETSc's own text and the function that raised it).
// All communication is over PETSC_COMM_WORLD (every MPI rank), except matrices created with
// `local_only` (PETSC_COMM_SELF: one rank's own sequential matrix).
#ifndef PETSC_SHIM_H
#define PETSC_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// PetscInitialize without command-line arguments, then `options` (PETSc's own "-ksp_monitor
/// -pc_gamg_threshold 0.02" syntax, may be NULL) inserted into the options database. Installs
/// an error handler that records messages instead of printing tracebacks. Idempotent.
int isp_initialize(const char *options);
/// PetscFinalize (and MPI_Finalize when PETSc started MPI). Idempotent.
int isp_finalize(void);
/// Inserts options into PETSc's database after initialization (solvers created later see them).
int isp_insert_options(const char *options);
int isp_is_initialized(void);
int isp_rank(void);
int isp_size(void);
const char *isp_error_message(void);
/// Sets the message (for failures found on the Swift side and turned into a PETSc-like code).
void isp_set_error_message(const char *message);

// MARK: - Collectives over PETSC_COMM_WORLD
/// op: 0 sum, 1 max, 2 min; in place.
int isp_allreduce_double(double *values, int count, int op);
int isp_allreduce_int64(int64_t *values, int count, int op);
/// Exclusive prefix sum (rank 0 gets 0).
int isp_exscan_int64(int64_t value, int64_t *result);
/// MPI_Bcast of `count` bytes from `root`.
int isp_broadcast_bytes(char *buffer, int count, int root);
/// Every rank sends `send_counts[r]` entries (row, column, value; contiguous per destination
/// rank, in rank order) to rank r. Receives into arrays allocated with malloc (free with
/// isp_free); `*received` is their length.
int isp_alltoallv_entries(const int *send_counts, const int32_t *rows, const int32_t *columns,
                          const double *values, int32_t **received_rows, int32_t **received_columns,
                          double **received_values, int64_t *received);
/// Every rank gets every rank's `value` (`values` has isp_size() entries).
int isp_allgather_int64(int64_t value, int64_t *values);
void isp_free(void *pointer);
int isp_barrier(void);

// MARK: - Matrices (MATAIJ: MPIAIJ over several ranks, SeqAIJ on one)
/// A matrix from this rank's rows in CSR form: `local_rows` rows starting at the rank's
/// offset, `global_rows` × `global_rows` in all; `row_pointers` from 0, `columns` global
/// indices. Values are copied. `symmetric` / `positive_definite` set MAT_SYMMETRIC and MAT_SPD.
int isp_matrix_create(int local_only, int local_rows, int global_rows, const int32_t *row_pointers,
                      const int32_t *columns, const double *values, int symmetric, int positive_definite,
                      void **matrix);
/// New values on the same pattern (rows as at creation).
int isp_matrix_update(void *matrix, int local_rows, const int32_t *row_pointers, const int32_t *columns,
                      const double *values);
/// y = A x (or Aᵀx) with this rank's parts of x and y (collective).
int isp_matrix_multiply(void *matrix, const double *x, double *y, int transposed);
/// This rank's first row and the global row count.
int isp_matrix_ownership(void *matrix, int *first_row, int *end_row, int *global_rows);
/// Ghost values this rank receives in each product (the halo: MPIAIJ's off-process columns;
/// 0 on one rank).
int isp_matrix_ghosts(void *matrix, int *ghosts);
/// Partitions the graph of a square distributed matrix with PETSc's MatPartitioning of `type`
/// ("ptscotch", "parmetis", "average", …; options database after) and returns the submatrix
/// whose rows (and columns) are renumbered so that this rank owns the rows the partitioner gave
/// it: `*old_rows` (malloc'd, free with isp_free) holds their old global indices in the new
/// order, `*count` of them.
int isp_matrix_partition(void *matrix, const char *type, void **partitioned, int32_t **old_rows, int *count);
/// The same matrix (same global numbering) with this rank owning rows first_row..<end_row
/// instead (contiguous blocks in rank order): MatCreateSubMatrix with a stride IS.
int isp_matrix_reblock(void *matrix, int first_row, int end_row, void **reblocked);
/// This rank's rows of a matrix in CSR with global columns (sorted): with NULL arrays, only
/// `*local_rows` and `*entries` are set; then call again with arrays of those sizes
/// (row_pointers: local_rows + 1).
int isp_matrix_local_csr(void *matrix, int32_t *row_pointers, int32_t *columns, double *values, int *local_rows, int *entries);
/// Bytes PETSc's MatGetInfo reports this rank's part uses.
int isp_matrix_memory(void *matrix, double *bytes);
int isp_matrix_destroy(void **matrix);

// MARK: - Krylov solvers (KSP) with preconditioners (PC)
/// KSP `method` ("cg", "minres", "gmres", "bcgs") with PC `preconditioner` ("none", "jacobi",
/// "gamg" — with unsmoothed aggregates —, "hypre" — BoomerAMG) on `matrix`. The stopping test is the unpreconditioned
/// residual ‖b − Ax‖ ≤ rtol·‖b‖ where the method allows it (CG; GMRES and BiCGSTAB with right
/// preconditioning); MINRES uses its preconditioned norm. Options from the database
/// (-ksp_*, -pc_*) apply last (KSPSetFromOptions).
int isp_ksp_create(void *matrix, const char *method, const char *preconditioner, double rtol,
                   int max_iterations, int restart, void **ksp);
/// KSPSetUp: the preconditioner's set-up (GAMG's hierarchy), timed by the caller.
int isp_ksp_setup(void *ksp);
/// Operators changed values (isp_matrix_update): the preconditioner is rebuilt at the next solve.
int isp_ksp_operators_changed(void *ksp, void *matrix);
/// Solves with this rank's parts of b and x; x is the initial guess when `nonzero_guess`.
/// `reason` is KSPConvergedReason (> 0 converged, < 0 diverged), `iterations` the count.
int isp_ksp_solve(void *ksp, const double *b, double *x, int nonzero_guess, int transposed,
                  int *iterations, int *reason, double *residual_norm);
/// The name of a KSPConvergedReason ("KSP_DIVERGED_ITS", …).
const char *isp_ksp_reason_name(int reason);
/// Levels of a GAMG or BoomerAMG hierarchy (0 otherwise).
int isp_ksp_levels(void *ksp, int *levels);
int isp_ksp_destroy(void **ksp);

/// This process's resident memory now and at most (PetscMemoryGetCurrentUsage / Maximum).
int isp_memory(double *current, double *maximum);

#ifdef __cplusplus
}
#endif
#endif
