/* struct and name options, raw sockets
 *
 * Exported from a Socket Workbench session: the same calls in the same order with
 * the same bytes. It checks that each call ends as it did in the recording and that
 * every socket receives the recorded bytes.
 *
 * build: cc -std=c11 -Wall -Wextra -Werror -pedantic -o program program.c
 * usage: ./program [--peer NAME=ADDRESS] [--target N=ADDRESS] [--timeout SECONDS]
 * ADDRESS: host:port, [v6]:port, unix:/path or unix:@name
 * exit: 0 as recorded, 1 something differs (said on stderr), 2 a bad command line
 * I/O model: blocking
 * needs CAP_NET_RAW (run as root) for its raw sockets
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

#ifndef _WIN32
#include <netinet/icmp6.h>
#include <linux/filter.h>
#endif

#define IO_POLL 0 /* 1: non-blocking sockets, waits in poll() */
#define NSOCKS 4 /* sockets are numbered from 1 */
#define NPEERS 0

#ifndef IP_ADD_MEMBERSHIP
#define IP_ADD_MEMBERSHIP 35
#endif

#ifndef IP_MULTICAST_IF
#define IP_MULTICAST_IF 32
#endif

#ifndef TCP_CONGESTION
#define TCP_CONGESTION 13
#endif

#ifndef IP_OPTIONS
#define IP_OPTIONS 4
#endif

#ifndef ICMP6_FILTER
#define ICMP6_FILTER 1
#endif

#ifndef SO_ATTACH_FILTER
#define SO_ATTACH_FILTER 26
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
static const char *const target_recorded[NSOCKS + 1] = {NULL, NULL, NULL, NULL, NULL};

/* what each socket received in the recording */
struct expected {
    const unsigned char *data;
    size_t len;
    const size_t (*gaps)[2]; /* (offset, size) received but not kept */
    size_t ngaps;
    int stream; /* bytes without boundaries (not datagrams) */
};
static const struct expected received[NSOCKS + 1] = {
    {NULL, 0, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
};

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

/* A name read back (TCP_CONGESTION): said, and compared when the session set it. */
static int check_name(int seq, const char *what, const char *got, const char *recorded)
{
    if (recorded != NULL && strcmp(got, recorded) != 0) {
        fprintf(stderr, "differs: step %d: %s: \"%s\"; the recording: \"%s\"\n", seq, what,
                got, recorded);
        return -1;
    }
    printf("step %d: %s: \"%s\"%s\n", seq, what, got, recorded ? ", as recorded" : "");
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
    int rc;

    /* step 0: socket(family=inet, type=dgram) */
    if (do_socket(0, "socket(family=inet, type=dgram)", 0, 1, AF_INET, SOCK_DGRAM, 0) < 0)
        return 1;
    /* step 1: setsockopt(#1, option=IP_ADD_MEMBERSHIP, value=239.255.0.1 on 127.0.0.1) */
    {
#ifdef _WIN32
        struct ip_mreq v; /* Winsock has no ip_mreqn */
        memset(&v, 0, sizeof v);
        v.imr_multiaddr.s_addr = htonl(0xefff0001UL); /* 239.255.0.1 */
        v.imr_interface.s_addr = htonl(0x7f000001UL); /* 127.0.0.1 */
#else
        struct ip_mreqn v;
        memset(&v, 0, sizeof v);
        v.imr_multiaddr.s_addr = htonl(0xefff0001UL); /* 239.255.0.1 */
        v.imr_address.s_addr = htonl(0x7f000001UL); /* 127.0.0.1 */
        v.imr_ifindex = 0;
#endif
        rc = setsockopt(fds[1], IPPROTO_IP, IP_ADD_MEMBERSHIP, (const char *)&v, sizeof v);
    }
    if (outcome(1, "setsockopt(#1, option=IP_ADD_MEMBERSHIP, value=239.255.0.1 on 127.0.0.1)",
                rc, 0) < 0)
        return 1;
    /* step 2: setsockopt(#1, option=IP_MULTICAST_IF, value=127.0.0.1) */
    {
        struct in_addr v;
        memset(&v, 0, sizeof v);
        v.s_addr = htonl(0x7f000001UL); /* 127.0.0.1 */
        rc = setsockopt(fds[1], IPPROTO_IP, IP_MULTICAST_IF, (const char *)&v, sizeof v);
    }
    if (outcome(2, "setsockopt(#1, option=IP_MULTICAST_IF, value=127.0.0.1)", rc, 0) < 0)
        return 1;
    /* step 3: socket(family=inet, type=stream) */
    if (do_socket(3, "socket(family=inet, type=stream)", 0, 2, AF_INET, SOCK_STREAM, 0) < 0)
        return 1;
    /* step 4: setsockopt(#2, option=TCP_CONGESTION, value=reno) */
    {
        static const char v[] = "reno";
        rc = setsockopt(fds[2], IPPROTO_TCP, TCP_CONGESTION, (const char *)&v, sizeof v - 1);
    }
    if (outcome(4, "setsockopt(#2, option=TCP_CONGESTION, value=reno)", rc, 0) < 0)
        return 1;
    /* step 5: getsockopt(#2, option=TCP_CONGESTION) */
    {
        char v[256];
        socklen_t n = sizeof v - 1;
        rc = getsockopt(fds[2], IPPROTO_TCP, TCP_CONGESTION, v, &n);
        if (outcome(5, "getsockopt(#2, option=TCP_CONGESTION)", rc, 0) < 0)
            return 1;
        v[rc < 0 ? 0 : n] = '\0';
        if (rc >= 0 && check_name(5, "getsockopt(#2, option=TCP_CONGESTION)", v, "reno") < 0)
            return 1;
    }
    /* step 6: setsockopt(#2, option=IP_OPTIONS, value=01 01 01 00) */
    {
        static const unsigned char v[4] = {0x01, 0x01, 0x01, 0x00};
        rc = setsockopt(fds[2], IPPROTO_IP, IP_OPTIONS, (const char *)&v, sizeof v);
    }
    if (outcome(6, "setsockopt(#2, option=IP_OPTIONS, value=01 01 01 00)", rc, 0) < 0)
        return 1;
    /* step 7: socket(family=inet6, type=raw, proto=58, approved=True) */
    if (do_socket(7, "socket(family=inet6, type=raw, proto=58, approved=True)", 0, 3, AF_INET6,
                  SOCK_RAW, 58) < 0)
        return 1;
    /* step 8: setsockopt(#3, option=ICMP6_FILTER, value=pass 129) */
    {
#ifdef _WIN32
        rc = -1; /* no such option in Winsock */
        WSASetLastError(WSAENOPROTOOPT);
#else
        struct icmp6_filter v;
        ICMP6_FILTER_SETBLOCKALL(&v); /* then let these in */
        ICMP6_FILTER_SETPASS(129, &v);
        rc = setsockopt(fds[3], IPPROTO_ICMPV6, ICMP6_FILTER, (const char *)&v, sizeof v);
#endif
    }
    if (outcome(8, "setsockopt(#3, option=ICMP6_FILTER, value=pass 129)", rc, 0) < 0)
        return 1;
    /* step 9: socket(family=inet, type=raw, proto=1, approved=True) */
    if (do_socket(9, "socket(family=inet, type=raw, proto=1, approved=True)", 0, 4, AF_INET,
                  SOCK_RAW, 1) < 0)
        return 1;
    /* step 10: setsockopt(#4, option=SO_ATTACH_FILTER, value=icmp host 127.0.0.1) */
    {
#ifdef _WIN32
        rc = -1; /* no such option in Winsock */
        WSASetLastError(WSAENOPROTOOPT);
#else
        /* the filter "icmp host 127.0.0.1", compiled as the workbench did */
        static struct sock_filter code[] = {
            {0x30, 0, 0, 0x00000000},
            {0x74, 0, 0, 0x00000004},
            {0x15, 0, 7, 0x00000004},
            {0x30, 0, 0, 0x00000009},
            {0x15, 0, 5, 0x00000001},
            {0x20, 0, 0, 0x0000000c},
            {0x15, 2, 0, 0x7f000001},
            {0x20, 0, 0, 0x00000010},
            {0x15, 0, 1, 0x7f000001},
            {0x06, 0, 0, 0x00040000},
            {0x06, 0, 0, 0x00000000},
        };
        struct sock_fprog v;
        v.len = sizeof code / sizeof code[0];
        v.filter = code;
        rc = setsockopt(fds[4], SOL_SOCKET, SO_ATTACH_FILTER, (const char *)&v, sizeof v);
#endif
    }
    if (outcome(10, "setsockopt(#4, option=SO_ATTACH_FILTER, value=icmp host 127.0.0.1)", rc,
                0) < 0)
        return 1;
    /* step 11: close(#1) */
    do_close(11, "close(#1)", 1);
    /* step 12: close(#2) */
    do_close(12, "close(#2)", 2);
    /* step 13: close(#3) */
    do_close(13, "close(#3)", 3);
    /* step 14: close(#4) */
    do_close(14, "close(#4)", 4);
    return 0;
}
