/* a listener, a client, auto-accept and a ping-pong
 *
 * Exported from a Socket Workbench session: the same calls in the same order with
 * the same bytes. It checks that each call ends as it did in the recording and that
 * every socket receives the recorded bytes.
 *
 * build: cc -std=c11 -Wall -Wextra -Werror -pedantic -o program program.c
 * usage: ./program [--peer NAME=ADDRESS] [--target N=ADDRESS] [--timeout SECONDS]
 * ADDRESS: host:port, [v6]:port, unix:/path or unix:@name
 * exit: 0 as recorded, 1 something differs (said on stderr), 2 a bad command line
 * I/O model: poll
 */
#ifdef _WIN32
/* Windows: Winsock 2; build with x86_64-w64-mingw32-gcc -std=c11 ... -lws2_32 */
#define _WIN32_WINNT 0x0600
#define __USE_MINGW_ANSI_STDIO 1
#include <winsock2.h>
#include <ws2tcpip.h>
#include <afunix.h>
#include <windows.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
typedef SOCKET sock_t;
typedef ULONG nfds_t;
#define NO_SOCKET INVALID_SOCKET
#define poll WSAPoll
#define close_socket closesocket
#define sock_errno() WSAGetLastError()
#define set_sock_errno(e) WSASetLastError(e)
#define IO_LEN(n) ((int)(n))
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
#define ERR(posix, windows) (windows)
#else
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
typedef int sock_t;
#define NO_SOCKET (-1)
#define close_socket close
#define sock_errno() errno
#define set_sock_errno(e) (errno = (e))
#define IO_LEN(n) (n)
#define ERR(posix, windows) (posix)
#endif

#define IO_POLL 1 /* 1: non-blocking sockets, waits in poll() */
#define NSOCKS 3 /* sockets are numbered from 1 */
#define NPEERS 0

#ifndef SO_REUSEADDR
#define SO_REUSEADDR 2
#endif

static const char *errno_name(int e)
{
    static const struct { int code; const char *name; } names[] = {
        {ERR(EAGAIN, WSAEWOULDBLOCK), "EAGAIN"},
        {ERR(EWOULDBLOCK, WSAEWOULDBLOCK), "EWOULDBLOCK"},
        {ERR(EINPROGRESS, WSAEWOULDBLOCK), "EINPROGRESS"},
        {ERR(EALREADY, WSAEALREADY), "EALREADY"},
        {ERR(EINTR, WSAEINTR), "EINTR"},
        {ERR(ECONNREFUSED, WSAECONNREFUSED), "ECONNREFUSED"},
        {ERR(ECONNRESET, WSAECONNRESET), "ECONNRESET"},
        {ERR(ECONNABORTED, WSAECONNABORTED), "ECONNABORTED"},
        {ERR(EPIPE, -1), "EPIPE"},
        {ERR(ETIMEDOUT, WSAETIMEDOUT), "ETIMEDOUT"},
        {ERR(EHOSTUNREACH, WSAEHOSTUNREACH), "EHOSTUNREACH"},
        {ERR(ENETUNREACH, WSAENETUNREACH), "ENETUNREACH"},
        {ERR(EADDRINUSE, WSAEADDRINUSE), "EADDRINUSE"},
        {ERR(EADDRNOTAVAIL, WSAEADDRNOTAVAIL), "EADDRNOTAVAIL"},
        {ERR(EACCES, WSAEACCES), "EACCES"},
        {ERR(EPERM, -1), "EPERM"},
        {ERR(EBADF, WSAEBADF), "EBADF"},
        {ERR(EINVAL, WSAEINVAL), "EINVAL"},
        {ERR(ENOTCONN, WSAENOTCONN), "ENOTCONN"},
        {ERR(EISCONN, WSAEISCONN), "EISCONN"},
        {ERR(ENOENT, -1), "ENOENT"},
        {ERR(EMSGSIZE, WSAEMSGSIZE), "EMSGSIZE"},
        {ERR(ENOBUFS, WSAENOBUFS), "ENOBUFS"},
        {ERR(EMFILE, WSAEMFILE), "EMFILE"},
        {ERR(ENOPROTOOPT, WSAENOPROTOOPT), "ENOPROTOOPT"},
        {ERR(EAFNOSUPPORT, WSAEAFNOSUPPORT), "EAFNOSUPPORT"},
        {ERR(EPROTONOSUPPORT, WSAEPROTONOSUPPORT), "EPROTONOSUPPORT"},
        {ERR(EOPNOTSUPP, WSAEOPNOTSUPP), "EOPNOTSUPP"},
        {ERR(ENOTSOCK, WSAENOTSOCK), "ENOTSOCK"},
        {ERR(EDESTADDRREQ, WSAEDESTADDRREQ), "EDESTADDRREQ"},
        {ERR(ESHUTDOWN, WSAESHUTDOWN), "ESHUTDOWN"},
    };
    static char number[32]; /* one the table does not name */
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == e)
            return names[i].name;
    snprintf(number, sizeof number, "error %d", e);
    return number;
}

static const char *const peer_names[NPEERS + 1] = {NULL};
/* where each peer listened when recorded (NULL: give --peer) */
static const char *const peer_recorded[NPEERS + 1] = {NULL};
/* where each socket connected or sent to */
static const char *const target_recorded[NSOCKS + 1] = {NULL, NULL, "sock:1", NULL};

/* what each socket received in the recording */
struct expected {
    const unsigned char *data;
    size_t len;
    const size_t (*gaps)[2]; /* (offset, size) received but not kept */
    size_t ngaps;
    int stream; /* bytes without boundaries (not datagrams) */
};
static const unsigned char received_2[] = "pong\n";
static const unsigned char received_3[] = "ping\n";
static const struct expected received[NSOCKS + 1] = {
    {NULL, 0, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
    {received_2, 5, NULL, 0, 1},
    {received_3, 5, NULL, 0, 1},
};

static const unsigned char data_8[] = "ping\n";
static const unsigned char data_11[] = "pong\n";
struct addr { struct sockaddr_storage ss; socklen_t len; };
struct rx { unsigned char *buf; size_t len, cap, count; int stop; };

static sock_t fds[NSOCKS + 1];
static struct rx rx[NSOCKS + 1];
static const char *peer_given[NPEERS + 1];
static const char *target_given[NSOCKS + 1];
static int timeout_ms = 10000;

static const char *error_text(int e)
{
#ifdef _WIN32
    static char text[256];
    if (FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                       (DWORD)e, 0, text, sizeof text, NULL) == 0)
        snprintf(text, sizeof text, "error %d", e);
    text[strcspn(text, "\r\n")] = '\0';
    return text;
#else
    return strerror(e);
#endif
}

static int would_block(int e)
{
    return e == ERR(EAGAIN, WSAEWOULDBLOCK) || e == ERR(EWOULDBLOCK, WSAEWOULDBLOCK);
}

static int set_blocking(sock_t fd, int blocking)
{
#ifdef _WIN32
    u_long on = !blocking;
    return ioctlsocket(fd, FIONBIO, &on) == 0 ? 0 : -1;
#else
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    flags = blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags);
#endif
}

static void pause_for(int seq, double seconds)
{
#ifdef _WIN32
    Sleep((DWORD)(seconds * 1000));
#else
    struct timespec t;
    t.tv_sec = (time_t)seconds;
    t.tv_nsec = (long)((seconds - (double)t.tv_sec) * 1e9);
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
#endif
    printf("step %d: waited %g s\n", seq, seconds);
}

static void differs(int seq, const char *what, const char *how)
{
    fprintf(stderr, "differs: step %d: %s: %s\n", seq, what, how);
}

/* How a call ended against the recording (expect: the errno it failed with, 0 for
   success, -1 for an error C has no name for): 0 as recorded, -1 not (said). */
static int outcome(int seq, const char *what, int rc, int expect)
{
    int e = sock_errno();
    if (rc >= 0 && expect == 0) {
        printf("step %d: %s: ok\n", seq, what);
        return 0;
    }
    if (rc < 0 && expect != 0 && (e == expect || expect == -1)) {
        printf("step %d: %s: %s, as recorded\n", seq, what, errno_name(e));
        return 0;
    }
    if (rc < 0)
        fprintf(stderr, "differs: step %d: %s failed: %s (%s); the recording: %s\n", seq,
                what, errno_name(e), error_text(e), expect ? errno_name(expect) : "success");
    else
        fprintf(stderr, "differs: step %d: %s succeeded; the recording: %s\n", seq, what,
                errno_name(expect));
    return -1;
}

static int failed(int seq, const char *what, const char *call)
{
    int e = sock_errno();
    fprintf(stderr, "differs: step %d: %s: %s failed: %s (%s)\n", seq, what, call,
            errno_name(e), error_text(e));
    return -1;
}

/* Whether a stream socket has yet to take bytes the recording says it received. */
static int owed(int sid)
{
    return received[sid].stream && !rx[sid].stop && fds[sid] != NO_SOCKET
           && rx[sid].len < received[sid].len;
}

/* Room for size more bytes in the socket's received bytes: 0, or -1 (said). */
static int room(int seq, const char *what, int sid, size_t size)
{
    struct rx *r = &rx[sid];
    if (r->cap - r->len < size) {
        size_t cap = r->len + size > 2 * r->cap ? r->len + size : 2 * r->cap; /* amortised */
        unsigned char *buf = realloc(r->buf, cap ? cap : 1);
        if (buf == NULL)
            return failed(seq, what, "realloc");
        r->buf = buf;
        r->cap = cap;
    }
    return 0;
}

/* Take what a readable stream socket has, up to what the recording says it received
   in all; an end of stream or an error is left for the step that meets it. */
static int drain(int seq, const char *what, int sid, short revents)
{
    size_t want = received[sid].len - rx[sid].len;
    ssize_t n;
    if (!(revents & POLLIN) || (revents & POLLERR)) {
        rx[sid].stop = 1;
        return 0;
    }
    if (want > 65536)
        want = 65536;
    if (room(seq, what, sid, want) < 0)
        return -1;
    n = recv(fds[sid], (char *)rx[sid].buf + rx[sid].len, IO_LEN(want), 0);
    if (n > 0)
        rx[sid].len += (size_t)n;
    else if (n == 0 || (!would_block(sock_errno()) && sock_errno() != ERR(EINTR, WSAEINTR)))
        rx[sid].stop = 1;
    return 0;
}

/* Wait until fd is ready for events, at most timeout_ms: 0 ready, -1 not (said).
   While it waits to write, the program's other stream sockets take the bytes the
   recording says they received, as the workbench's auto-receive did: a send to one of
   the program's own sockets never waits for a reader that is itself waiting. */
static int wait_fd(int seq, const char *what, sock_t fd, short events)
{
    struct pollfd p[NSOCKS + 1];
    int ids[NSOCKS + 1], count, n, i, sid;
    for (;;) {
        p[0].fd = fd;
        p[0].events = events;
        p[0].revents = 0;
        for (count = 1, sid = 1; sid <= NSOCKS; sid++) {
            if (events == POLLOUT && fds[sid] != fd && owed(sid)) {
                p[count].fd = fds[sid];
                p[count].events = POLLIN;
                p[count].revents = 0;
                ids[count++] = sid;
            }
        }
        do {
            n = poll(p, (nfds_t)count, timeout_ms);
        } while (n < 0 && sock_errno() == ERR(EINTR, WSAEINTR));
        if (n < 0)
            return failed(seq, what, "poll");
        if (n == 0) {
            fprintf(stderr, "differs: step %d: %s: not %s within %d ms\n", seq, what,
                    events == POLLIN ? "readable" : "writable", timeout_ms);
            return -1;
        }
        if (p[0].revents)
            return 0;
        for (i = 1; i < count; i++)
            if (p[i].revents && drain(seq, what, ids[i], p[i].revents) < 0)
                return -1;
    }
}

/* A new socket of the program; with IO_POLL it is non-blocking from the start. */
static int adopt(int seq, const char *what, int sid, sock_t fd)
{
    fds[sid] = fd;
    if (IO_POLL && set_blocking(fd, 0) < 0)
        return failed(seq, what, "set_blocking");
    return 0;
}

static int do_socket(int seq, const char *what, int expect, int sid, int family, int type,
                     int proto)
{
    sock_t fd = socket(family, type, proto);
    int ok = outcome(seq, what, fd == NO_SOCKET ? -1 : 0, expect);
    if (fd != NO_SOCKET && adopt(seq, what, sid, fd) < 0)
        return -1;
    return ok;
}

/* host:port, [v6]:port, unix:/path, unix:@name or unix: (autobind): 0, or -1 (said). */
static int to_addr(const char *text, int family, int type, struct addr *out)
{
    char host[256];
    const char *colon, *port, *start;
    size_t hostlen;
    struct addrinfo hints, *res = NULL;
    int rc;
    memset(out, 0, sizeof *out);
    if (strncmp(text, "unix:", 5) == 0 || text[0] == '/') {
        struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
        const char *path = text[0] == '/' ? text : text + 5;
        size_t n = strlen(path);
        un->sun_family = AF_UNIX;
        if (n >= sizeof un->sun_path) {
            fprintf(stderr, "address %s: the path is over %zu bytes\n", text,
                    sizeof un->sun_path - 1);
            return -1;
        }
        memcpy(un->sun_path, path, n);
        if (path[0] == '@')
            un->sun_path[0] = '\0'; /* an abstract name: no NUL at the end */
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n
                               + (n && path[0] != '@'));
        return 0;
    }
    colon = strrchr(text, ':');
    if (colon == NULL || colon[1] == '\0') {
        fprintf(stderr, "address %s: write host:port, [v6]:port, unix:/path or unix:@name\n",
                text);
        return -1;
    }
    port = colon + 1;
    hostlen = (size_t)(colon - text);
    start = text;
    if (hostlen >= 2 && text[0] == '[' && text[hostlen - 1] == ']') {
        start++;
        hostlen -= 2;
    }
    if (hostlen >= sizeof host) {
        fprintf(stderr, "address %s: the host name is too long\n", text);
        return -1;
    }
    memcpy(host, start, hostlen);
    host[hostlen] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = type;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "address %s: %s\n", text, gai_strerror(rc));
        return -1;
    }
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Where socket sid connects or sends: --target, then --peer, then the program's own
   socket (sock:N), then the address as recorded. */
static int destination(int sid, const char *recorded, int family, int type, struct addr *out)
{
    const char *text = target_given[sid] ? target_given[sid] : recorded;
    int i;
    if (strncmp(text, "sock:", 5) == 0) {
        int own = atoi(text + 5);
        memset(out, 0, sizeof *out);
        out->len = sizeof out->ss;
        if (own < 1 || own > NSOCKS
            || getsockname(fds[own], (struct sockaddr *)&out->ss, &out->len) < 0) {
            fprintf(stderr, "%s: no local address: %s\n", text, error_text(sock_errno()));
            return -1;
        }
        return 0;
    }
    if (strncmp(text, "peer:", 5) == 0) {
        for (i = 0; i < NPEERS; i++)
            if (strcmp(peer_names[i], text + 5) == 0)
                return to_addr(peer_given[i], family, type, out);
        fprintf(stderr, "%s: no such peer\n", text);
        return -1;
    }
    return to_addr(text, family, type, out);
}

/* bind, and say where: a port 0 or an autobound name is chosen now. */
static int do_bind(int seq, const char *what, int expect, int sid, const struct addr *a)
{
    struct addr got;
    char host[NI_MAXHOST], port[NI_MAXSERV];
    const struct sockaddr_un *un = (const struct sockaddr_un *)&got.ss;
    int rc = bind(fds[sid], (const struct sockaddr *)&a->ss, a->len);
    if (outcome(seq, what, rc, expect) < 0)
        return -1;
    got.len = sizeof got.ss;
    if (rc < 0 || getsockname(fds[sid], (struct sockaddr *)&got.ss, &got.len) < 0)
        return 0;
    if (got.ss.ss_family == AF_UNIX) {
        size_t n = got.len - offsetof(struct sockaddr_un, sun_path);
        if (n > 0 && un->sun_path[0] == '\0')
            printf("step %d: bound to unix:@%.*s\n", seq, (int)(n - 1), un->sun_path + 1);
        else
            printf("step %d: bound to unix:%.*s\n", seq, (int)strnlen(un->sun_path, n),
                   un->sun_path);
    } else if (getnameinfo((struct sockaddr *)&got.ss, got.len, host, sizeof host, port,
                           sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        printf(got.ss.ss_family == AF_INET6 ? "step %d: bound to [%s]:%s\n"
                                             : "step %d: bound to %s:%s\n", seq, host, port);
    }
    return 0;
}

static int do_connect(int seq, const char *what, int expect, int sid, const struct addr *a,
                      int blocking)
{
    int rc = connect(fds[sid], (const struct sockaddr *)&a->ss, a->len);
    if (IO_POLL && blocking && rc < 0 && sock_errno() == ERR(EINPROGRESS, WSAEWOULDBLOCK)) {
        int err = 0;
        socklen_t n = sizeof err;
        if (wait_fd(seq, what, fds[sid], POLLOUT) < 0)
            return -1;
        if (getsockopt(fds[sid], SOL_SOCKET, SO_ERROR, (char *)&err, &n) < 0)
            return failed(seq, what, "getsockopt(SO_ERROR)");
        set_sock_errno(err);
        rc = err ? -1 : 0;
    }
    return outcome(seq, what, rc, expect);
}

static int do_accept(int seq, const char *what, int expect, int sid, int new_sid, int blocking)
{
    sock_t fd;
    if (IO_POLL && blocking && wait_fd(seq, what, fds[sid], POLLIN) < 0)
        return -1;
    fd = accept(fds[sid], NULL, NULL);
    if (outcome(seq, what, fd, expect) < 0) {
        if (fd != NO_SOCKET)
            close_socket(fd);
        return -1;
    }
    return fd != NO_SOCKET && new_sid > 0 ? adopt(seq, what, new_sid, fd) : 0;
}

/* Send all of data, however many calls it takes (partial writes, EAGAIN). */
static int send_all(int seq, const char *what, int expect, int sid, const unsigned char *data,
                    size_t len, int flags)
{
    size_t sent = 0;
    if (expect != 0)
        return outcome(seq, what, (int)send(fds[sid], (const char *)data, IO_LEN(len), flags),
                       expect);
    for (;;) { /* at least one call: an empty send is an empty datagram */
        ssize_t n = send(fds[sid], (const char *)data + sent, IO_LEN(len - sent), flags);
        if (n < 0 && would_block(sock_errno())) {
            if (wait_fd(seq, what, fds[sid], POLLOUT) < 0)
                return -1;
        } else if (n < 0 && sock_errno() != ERR(EINTR, WSAEINTR)) {
            return failed(seq, what, "send");
        } else if (n >= 0) {
            sent += (size_t)n;
            if (sent >= len)
                break;
        }
    }
    printf("step %d: %s: %zu bytes sent\n", seq, what, sent);
    return 0;
}

/* One recv or recvfrom into the socket's received bytes; waits when it would block. */
static ssize_t take(int seq, const char *what, int sid, size_t size, int flags, int datagram)
{
    struct rx *r = &rx[sid];
    ssize_t n;
    if (room(seq, what, sid, size) < 0)
        return -1;
    for (;;) {
        char *into = (char *)r->buf + r->len;
        n = datagram ? recvfrom(fds[sid], into, IO_LEN(size), flags, NULL, NULL)
                     : recv(fds[sid], into, IO_LEN(size), flags);
        if (n >= 0)
            break;
        if (would_block(sock_errno())) {
            if (wait_fd(seq, what, fds[sid], POLLIN) < 0)
                return -1;
        } else if (sock_errno() != ERR(EINTR, WSAEINTR)) {
            return failed(seq, what, datagram ? "recvfrom" : "recv");
        }
    }
    r->len += (size_t)n;
    return n;
}

/* Before a receive the recording saw fail: an error (a reset, a refusal) makes the
   socket readable when it comes; only EAGAIN is met at once. */
static int settle(int seq, const char *what, int sid, int expect)
{
    return would_block(expect) ? 0 : wait_fd(seq, what, fds[sid], POLLIN);
}

/* Read until the socket has total bytes, as in the recording; then, if the recording
   read end of stream here, one more recv must return 0. */
static int recv_until(int seq, const char *what, int expect, int sid, size_t total, int eof,
                      size_t size, int flags)
{
    char peek[1];
    ssize_t n;
    if (expect != 0) /* an error makes the socket readable when it comes */
        return settle(seq, what, sid, expect) < 0
                   ? -1 : outcome(seq, what, (int)recv(fds[sid], peek, sizeof peek, flags),
                                  expect);
    while (rx[sid].len < total) {
        size_t want = total - rx[sid].len;
        n = take(seq, what, sid, want < size ? want : size, flags, 0);
        if (n < 0)
            return -1;
        if (n == 0) {
            fprintf(stderr, "differs: step %d: %s: end of stream after %zu bytes; the "
                    "recording had %zu\n", seq, what, rx[sid].len, total);
            return -1;
        }
    }
    if (eof) {
        n = take(seq, what, sid, size ? size : 1, flags, 0);
        if (n != 0) {
            if (n > 0)
                differs(seq, what, "bytes where the recording read end of stream");
            return -1;
        }
        printf("step %d: %s: end of stream\n", seq, what);
        return 0;
    }
    printf("step %d: %s: %zu bytes in all\n", seq, what, rx[sid].len);
    return 0;
}

static int check_expect(int seq, const char *what, int sid, size_t at,
                        const unsigned char *data, size_t len)
{
    if (rx[sid].len < at + len || memcmp(rx[sid].buf + at, data, len) != 0) {
        differs(seq, what, "the expected bytes were not received there");
        return -1;
    }
    printf("step %d: %s: found at %zu\n", seq, what, at);
    return 0;
}

static void do_close(int seq, const char *what, int sid)
{
    if (fds[sid] != NO_SOCKET)
        close_socket(fds[sid]);
    fds[sid] = NO_SOCKET;
    printf("step %d: %s: ok\n", seq, what);
}

/* The first offset where the socket's bytes differ from the recording, outside the
   stretches the recording did not keep; -1 when they match. */
static long first_difference(int sid)
{
    const struct expected *w = &received[sid];
    size_t at, g, n = rx[sid].len < w->len ? rx[sid].len : w->len;
    for (at = 0; at < n; at++) {
        int skipped = 0;
        for (g = 0; g < w->ngaps; g++)
            skipped |= at >= w->gaps[g][0] && at < w->gaps[g][0] + w->gaps[g][1];
        if (!skipped && rx[sid].buf[at] != w->data[at])
            return (long)at;
    }
    return rx[sid].len == w->len ? -1 : (long)n;
}

static int compare(void)
{
    int sid, code = 0;
    for (sid = 1; sid <= NSOCKS; sid++) {
        long at = first_difference(sid);
        if (at >= 0) {
            fprintf(stderr, "socket %d: received %zu bytes, the recording %zu; first "
                    "difference at offset %ld\n", sid, rx[sid].len, received[sid].len, at);
            code = 1;
        }
    }
    return code;
}

/* A mistake (why) is one line on stderr: exit 2; --help (why NULL) the whole usage. */
static int usage(const char *prog, const char *why)
{
    int i;
    if (why) {
        fprintf(stderr, "%s: %s\n", prog, why);
        return 2;
    }
    printf("usage: %s [--peer NAME=ADDRESS] [--target N=ADDRESS] [--timeout SECONDS]\n",
           prog);
    for (i = 0; i < NPEERS; i++)
        printf("  --peer %s=ADDRESS (%s%s)\n", peer_names[i],
               peer_recorded[i] ? "recorded: " : "not recorded: required",
               peer_recorded[i] ? peer_recorded[i] : "");
    for (i = 1; i <= NSOCKS; i++)
        if (target_recorded[i])
            printf("  --target %d=ADDRESS (recorded: %s)\n", i, target_recorded[i]);
    printf("  --timeout SECONDS: the longest any wait for a socket lasts (default 10)\n");
    printf("ADDRESS: host:port, [v6]:port, unix:/path or unix:@name\n");
    return 2;
}

static int parse_args(int argc, char **argv)
{
    int i, j;
    for (i = 0; i < NPEERS; i++)
        peer_given[i] = peer_recorded[i];
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        const char *eq = value ? strchr(value, '=') : NULL;
        if (strcmp(arg, "--timeout") == 0 && value) {
            double s = atof(value);
            if (s <= 0 || s > 86400)
                return usage(argv[0], "--timeout takes seconds over 0, e.g. 5");
            timeout_ms = (int)(s * 1000);
        } else if (strcmp(arg, "--peer") == 0 && eq) {
            for (j = 0; j < NPEERS; j++)
                if (strncmp(peer_names[j], value, (size_t)(eq - value)) == 0
                    && peer_names[j][eq - value] == '\0')
                    break;
            if (j == NPEERS || eq[1] == '\0')
                return usage(argv[0], "--peer takes NAME=ADDRESS with a NAME listed by --help");
            peer_given[j] = eq + 1;
        } else if (strcmp(arg, "--target") == 0 && eq) {
            int n = atoi(value);
            if (n < 1 || n > NSOCKS || !target_recorded[n] || eq[1] == '\0')
                return usage(argv[0], "--target takes N=ADDRESS with an N listed by --help");
            target_given[n] = eq + 1;
        } else if (strcmp(arg, "--help") == 0) {
            usage(argv[0], NULL);
            return -1;
        } else if (strcmp(arg, "--peer") == 0) { /* its value is missing or has no = */
            return usage(argv[0], "--peer takes NAME=ADDRESS with a NAME listed by --help");
        } else if (strcmp(arg, "--target") == 0) {
            return usage(argv[0], "--target takes N=ADDRESS with an N listed by --help");
        } else if (strcmp(arg, "--timeout") == 0) {
            return usage(argv[0], "--timeout takes seconds over 0, e.g. 5");
        } else {
            fprintf(stderr, "%s: unknown argument %s; --help lists the options\n", argv[0],
                    arg);
            return 2;
        }
        i++;
    }
    for (i = 0; i < NPEERS; i++)
        if (peer_given[i] == NULL) {
            fprintf(stderr, "%s: peer %s: the session did not record where it listens; give "
                    "--peer %s=HOST:PORT (or unix:/path)\n", argv[0], peer_names[i],
                    peer_names[i]);
            return 2;
        }
    return 0;
}

static int run(void);

int main(int argc, char **argv)
{
    int code, sid;
    for (sid = 0; sid <= NSOCKS; sid++)
        fds[sid] = NO_SOCKET;
    code = parse_args(argc, argv);
    if (code != 0)
        return code < 0 ? 0 : code;
#ifdef _WIN32
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "WSAStartup failed\n");
        return 1;
    }
#else
    signal(SIGPIPE, SIG_IGN); /* a send to a closed peer fails with EPIPE instead */
#endif
    setvbuf(stdout, NULL, _IOLBF, 0); /* each step's line as it happens, even into a pipe */
    code = run();
    for (sid = 0; sid <= NSOCKS; sid++) /* every socket is closed on every path */
        if (fds[sid] != NO_SOCKET)
            close_socket(fds[sid]);
    if (code == 0)
        code = compare();
    for (sid = 0; sid <= NSOCKS; sid++)
        free(rx[sid].buf);
#ifdef _WIN32
    WSACleanup();
#endif
    if (code == 0)
        printf("as recorded: every call ended as it did and each socket received its bytes\n");
    return code;
}

/* The session's steps, in the order they started: 0 as recorded, 1 something
   differs, 2 an address that cannot be used. */
static int run(void)
{
    struct addr a;
    int rc;

    /* step 0: socket(family=inet, type=stream) */
    if (do_socket(0, "socket(family=inet, type=stream)", 0, 1, AF_INET, SOCK_STREAM, 0) < 0)
        return 1;
    /* step 1: setsockopt(#1, option=SO_REUSEADDR, value=1) */
    {
        int v = 1;
        rc = setsockopt(fds[1], SOL_SOCKET, SO_REUSEADDR, (const char *)&v, sizeof v);
    }
    if (outcome(1, "setsockopt(#1, option=SO_REUSEADDR, value=1)", rc, 0) < 0)
        return 1;
    /* step 2: bind(#1, address=127.0.0.1:0) */
    if (to_addr("127.0.0.1:0", AF_INET, SOCK_STREAM, &a) < 0)
        return 2;
    if (do_bind(2, "bind(#1, address=127.0.0.1:0)", 0, 1, &a) < 0)
        return 1;
    /* step 3: listen(#1, backlog=16) */
    rc = listen(fds[1], 16);
    if (outcome(3, "listen(#1, backlog=16)", rc, 0) < 0)
        return 1;
    /* step 4: socket(family=inet, type=stream) */
    if (do_socket(4, "socket(family=inet, type=stream)", 0, 2, AF_INET, SOCK_STREAM, 0) < 0)
        return 1;
    /* step 5: connect(#2, address=sock:1) */
    if (destination(2, "sock:1", AF_INET, SOCK_STREAM, &a) < 0)
        return 2;
    if (do_connect(5, "connect(#2, address=sock:1)", 0, 2, &a, 1) < 0)
        return 1;
    /* step 6: wait(seconds=0.1) */
    pause_for(6, 0.1);
    /* step 7: accept(#1) (the engine made it on its own: here it is explicit) */
    if (do_accept(7, "accept(#1)", 0, 1, 3, 1) < 0)
        return 1;
    /* step 8: send(#2, <5 bytes>) */
    if (send_all(8, "send(#2, <5 bytes>)", 0, 2, data_8, 5, 0) < 0)
        return 1;
    /* step 9: recv(#3) (the engine made it on its own: here it is explicit) */
    if (recv_until(9, "recv(#3)", 0, 3, 5, 0, 65536, 0) < 0)
        return 1;
    /* step 10: expect(#3, <5 bytes>, timeout=5) */
    if (recv_until(10, "expect(#3, <5 bytes>, timeout=5)", 0, 3, 5, 0, 65536, 0) < 0)
        return 1;
    if (check_expect(10, "expect(#3, <5 bytes>, timeout=5)", 3, 0, data_8, 5) < 0)
        return 1;
    /* step 11: send(#3, <5 bytes>) */
    if (send_all(11, "send(#3, <5 bytes>)", 0, 3, data_11, 5, 0) < 0)
        return 1;
    /* step 12: recv(#2) (the engine made it on its own: here it is explicit) */
    if (recv_until(12, "recv(#2)", 0, 2, 5, 0, 65536, 0) < 0)
        return 1;
    /* step 13: expect(#2, <5 bytes>, timeout=5) */
    if (recv_until(13, "expect(#2, <5 bytes>, timeout=5)", 0, 2, 5, 0, 65536, 0) < 0)
        return 1;
    if (check_expect(13, "expect(#2, <5 bytes>, timeout=5)", 2, 0, data_11, 5) < 0)
        return 1;
    /* step 14: close(#2) */
    do_close(14, "close(#2)", 2);
    /* step 15: wait(seconds=0.1) */
    pause_for(15, 0.1);
    /* step 16: recv(#3) (the engine made it on its own: here it is explicit) */
    if (recv_until(16, "recv(#3)", 0, 3, 5, 1, 65536, 0) < 0)
        return 1;
    /* step 17: close(#3) */
    do_close(17, "close(#3)", 3);
    /* step 18: close(#1) */
    do_close(18, "close(#1)", 1);
    return 0;
}
