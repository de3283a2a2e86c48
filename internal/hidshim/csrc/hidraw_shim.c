/*
 * hidraw_shim.c — an LD_PRELOAD library for keyceremony's tests that makes
 * one configured device path behave like a hidraw node backed by a simkey
 * SOCK_SEQPACKET socket, so unmodified libfido2 programs (fido2-token,
 * fido2-cred, fido2-assert) and go-libfido2 talk to simkey.
 *
 *   SIMKEY_SHIM_PATH   the fake node, e.g. /dev/hidraw-simkey0
 *   SIMKEY_SHIM_SOCKET the socket of `keyceremony simkey serve`
 *
 * open() of that path returns a connected socket; fstat() says it is a
 * character device; ioctl() answers HIDIOCGRDESCSIZE / HIDIOCGRDESC with a
 * FIDO report descriptor (64-byte reports); write() drops the leading
 * report-ID byte; flock() succeeds. read() and poll() work on the socket as
 * they are. Every other path and descriptor passes through untouched.
 *
 * Written by hand: it is test scaffolding that no library provides.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/hidraw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const unsigned char fido_descriptor[] = {
	0x06, 0xd0, 0xf1, 0x09, 0x01, 0xa1, 0x01, 0x09, 0x20, 0x15, 0x00, 0x26, 0xff, 0x00,
	0x75, 0x08, 0x95, 0x40, 0x81, 0x02, 0x09, 0x21, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75,
	0x08, 0x95, 0x40, 0x91, 0x02, 0xc0,
};

#define MAX_FDS 1024
static char shim_fds[MAX_FDS];

static int is_shim_fd(int fd) { return fd >= 0 && fd < MAX_FDS && shim_fds[fd]; }

static int is_shim_path(const char *path) {
	const char *want = getenv("SIMKEY_SHIM_PATH");
	return path != NULL && want != NULL && strcmp(path, want) == 0;
}

static int open_shim(void) {
	const char *sock = getenv("SIMKEY_SHIM_SOCKET");
	struct sockaddr_un sa;
	int fd;
	if (sock == NULL || strlen(sock) >= sizeof(sa.sun_path)) {
		errno = ENOENT;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (fd < MAX_FDS)
		shim_fds[fd] = 1;
	return fd;
}

#define REAL(name) static __typeof__(&name) real_##name; if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

/* open and open64 differ only in the libc function they fall back to. */
#define OPEN_SHIM(name)                                          \
	int name(const char *path, int flags, ...) {                 \
		REAL(name);                                              \
		mode_t mode = 0;                                         \
		if (flags & O_CREAT) {                                   \
			va_list ap;                                          \
			va_start(ap, flags);                                 \
			mode = va_arg(ap, mode_t);                           \
			va_end(ap);                                          \
		}                                                        \
		if (is_shim_path(path))                                  \
			return open_shim();                                  \
		return real_##name(path, flags, mode);                   \
	}

OPEN_SHIM(open)
OPEN_SHIM(open64)

static void fake_stat(struct stat *st) {
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0600;
}

int fstat(int fd, struct stat *st) {
	REAL(fstat);
	if (is_shim_fd(fd)) {
		fake_stat(st);
		return 0;
	}
	return real_fstat(fd, st);
}

int fstat64(int fd, struct stat64 *st) {
	REAL(fstat64);
	if (is_shim_fd(fd)) {
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFCHR | 0600;
		return 0;
	}
	return real_fstat64(fd, st);
}

int __fxstat(int ver, int fd, struct stat *st) {
	REAL(__fxstat);
	if (is_shim_fd(fd)) {
		fake_stat(st);
		return 0;
	}
	return real___fxstat(ver, fd, st);
}

int __fxstat64(int ver, int fd, struct stat64 *st) {
	REAL(__fxstat64);
	if (is_shim_fd(fd)) {
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFCHR | 0600;
		return 0;
	}
	return real___fxstat64(ver, fd, st);
}

int ioctl(int fd, unsigned long req, ...) {
	REAL(ioctl);
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!is_shim_fd(fd))
		return real_ioctl(fd, req, arg);
	if (req == HIDIOCGRDESCSIZE) {
		*(int *)arg = (int)sizeof(fido_descriptor);
		return 0;
	}
	if (req == HIDIOCGRDESC) {
		struct hidraw_report_descriptor *d = arg;
		d->size = sizeof(fido_descriptor);
		memcpy(d->value, fido_descriptor, sizeof(fido_descriptor));
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

ssize_t write(int fd, const void *buf, size_t n) {
	REAL(write);
	if (!is_shim_fd(fd) || n < 1)
		return real_write(fd, buf, n);
	/* hidraw takes the report ID first; the socket carries the report. */
	ssize_t w = real_write(fd, (const char *)buf + 1, n - 1);
	return w < 0 ? w : w + 1;
}

int flock(int fd, int op) {
	REAL(flock);
	if (is_shim_fd(fd))
		return 0;
	return real_flock(fd, op);
}

int close(int fd) {
	REAL(close);
	if (fd >= 0 && fd < MAX_FDS)
		shim_fds[fd] = 0;
	return real_close(fd);
}
