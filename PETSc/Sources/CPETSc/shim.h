// PETSc 3.18 from Debian's petsc-dev (pkg-config PETSc). Only the C shim (PETScShim)
// includes it; Swift sees the shim's plain-C interface.
#include <petsc.h>
