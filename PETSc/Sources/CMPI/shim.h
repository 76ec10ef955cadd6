// Open MPI from Debian's libopenmpi-dev (pkg-config ompi-c).
#include <mpi.h>
