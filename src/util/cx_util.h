/* util: status codes, logging, pools, 4-ary heap, counter-based RNG, options, YAML. */
#ifndef CX_UTIL_H
#define CX_UTIL_H
#include "cx_status.h"
#include "cx_log.h"
#include "cx_pool.h"
#include "cx_heap_inl.h"
#include "cx_rng.h"
#include "cx_opt.h"
#include "cx_yaml.h"
#include "cx_mem.h"
#include "cx_file.h"
#endif
