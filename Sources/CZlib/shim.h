#ifndef IMPLICITSPARSE_CZLIB_SHIM_H
#define IMPLICITSPARSE_CZLIB_SHIM_H
#include <zlib.h>
#endif
