/*
 * Status codes and the error record that carries one clear message to the
 * user.  Every fallible function returns cx_status_t; when it fails on bad
 * input it fills a cx_err_t naming the file, line and field involved, and the
 * caller prints it once (cx_err_print) at the top.
 */
#ifndef CX_STATUS_H
#define CX_STATUS_H

#include <stdarg.h>

typedef enum {
    CX_OK = 0,
    CX_ERR_INVALID,     /* bad input: value, key, combination */
    CX_ERR_PARSE,       /* malformed file (YAML, trace) */
    CX_ERR_RANGE,       /* a value outside its bounds */
    CX_ERR_NOMEM,
    CX_ERR_IO,
    CX_ERR_UNSUPPORTED,
    CX_ERR_NOT_FOUND,
    CX_ERR_INTERNAL
} cx_status_t;

#define CX_ERR_FILE_MAX  256
#define CX_ERR_FIELD_MAX 128
#define CX_ERR_MSG_MAX   768

/* An input error: where it is and what is wrong.  line == 0 means "no line"
 * (e.g. a command-line option); file may be empty. */
typedef struct cx_err {
    cx_status_t status;
    int         line;
    int         column;
    char        file[CX_ERR_FILE_MAX];
    char        field[CX_ERR_FIELD_MAX];
    char        msg[CX_ERR_MSG_MAX];
} cx_err_t;

const char *cx_status_string(cx_status_t st);

/* Fill err (if non-NULL) and return st, so callers can write
 *   return cx_err_set(err, CX_ERR_INVALID, file, line, "topology.gpus", "must be > 0");
 * file and field may be NULL. */
cx_status_t cx_err_set(cx_err_t *err, cx_status_t st, const char *file, int line,
                       const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
cx_status_t cx_err_vset(cx_err_t *err, cx_status_t st, const char *file, int line,
                        const char *field, const char *fmt, va_list ap);

/* Format as "FILE:LINE: field 'F': message" (parts omitted when absent). */
void cx_err_format(const cx_err_t *err, char *buf, unsigned long len);
/* Print "colossim: error: <formatted>" to stderr. */
void cx_err_print(const cx_err_t *err);
void cx_err_clear(cx_err_t *err);

/* The one error-propagation step: return the status of a fallible call when
 * it is not CX_OK (its cx_err_t is already filled). */
#define CX_TRY(_e)                                  \
    do {                                            \
        cx_status_t cx_try_st_ = (_e);              \
        if (cx_try_st_ != CX_OK) return cx_try_st_; \
    } while (0)

#endif
