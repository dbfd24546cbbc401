/*
 * log: one place to report.  In the foreground (or with debug on) lines go
 * to stderr with the pid; otherwise to syslog.  log_warn appends strerror(errno),
 * log_warnx does not.  Never log a token, a password or a request body.
 */
#ifndef MK_LOG_H
#define MK_LOG_H

/* ident: program name; foreground: 1 for stderr; debug: 1 to emit log_debug. */
void log_init(const char *ident, int foreground, int debug);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
