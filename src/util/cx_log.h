/*
 * Leveled logging.  The level is checked before any formatting; messages
 * carry the MPI rank so interleaved output from many ranks stays readable.
 */
#ifndef CX_LOG_H
#define CX_LOG_H

typedef enum { CX_LOG_ERROR = 0, CX_LOG_WARN, CX_LOG_INFO, CX_LOG_DEBUG, CX_LOG_TRACE } cx_log_level_t;

/* Process-wide logging settings (the one sanctioned global: set once at start). */
void cx_log_setup(int rank, cx_log_level_t level);
cx_log_level_t cx_log_get_level(void);
int  cx_log_rank(void);
void cx_log_emit(cx_log_level_t level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define cx_log(_lvl, ...) \
    do { if ((_lvl) <= cx_log_get_level()) cx_log_emit((_lvl), __FILE__, __LINE__, __VA_ARGS__); } while (0)
#define cx_error(...) cx_log(CX_LOG_ERROR, __VA_ARGS__)
#define cx_warn(...)  cx_log(CX_LOG_WARN, __VA_ARGS__)
#define cx_info(...)  cx_log(CX_LOG_INFO, __VA_ARGS__)
#define cx_debug(...) cx_log(CX_LOG_DEBUG, __VA_ARGS__)

/* A broken invariant: print rank/file/line and abort every rank
 * (MPI_Abort when MPI is initialised, abort() otherwise). */
void cx_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define cx_fatal(...) cx_fatal_at(__FILE__, __LINE__, __VA_ARGS__)
#define cx_assert(_c) \
    do { if (!(_c)) cx_fatal_at(__FILE__, __LINE__, "assertion failed: %s", #_c); } while (0)

#endif
