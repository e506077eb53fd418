/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Logging shared by the agent, the workers and the tools: one line per event,
 * "LEVEL component: message", to stderr (journald/kubectl logs pick it up).
 */
#ifndef XGW_LOG_H
#define XGW_LOG_H

enum xgw_log_level {
	XGW_LOG_ERROR = 0,
	XGW_LOG_WARN = 1,
	XGW_LOG_INFO = 2,
	XGW_LOG_DEBUG = 3,
};

/* <component> is copied (at most 31 bytes), e.g. "agent" or "worker/3". */
void xgw_log_init(const char *component, enum xgw_log_level level);
void xgw_log_set_level(enum xgw_log_level level);
enum xgw_log_level xgw_log_level(void);
/* Parses "error", "warn", "info", "debug"; returns -EINVAL for anything else. */
int xgw_log_parse_level(const char *s, enum xgw_log_level *out);

void xgw_log(enum xgw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) xgw_log(XGW_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) xgw_log(XGW_LOG_WARN, __VA_ARGS__)
#define log_info(...) xgw_log(XGW_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (xgw_log_level() >= XGW_LOG_DEBUG)                                              \
			xgw_log(XGW_LOG_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif /* XGW_LOG_H */
