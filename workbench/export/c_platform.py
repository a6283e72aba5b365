"""What differs between POSIX and Windows (Winsock 2) in an exported C program.

The program's helpers speak of `sock_t`, `NO_SOCKET`, `sock_errno()`,
`close_socket()`, `error_text()` and `ERR(posix, windows)` for an error code; this
prelude defines them for either system, so one file builds with `cc` on POSIX and
with `x86_64-w64-mingw32-gcc ... -lws2_32` for Windows.
"""

from __future__ import annotations

# Socket errors Winsock names WSA<name>; others have no Winsock counterpart.
WINSOCK = {
    "EAGAIN": "WSAEWOULDBLOCK", "EWOULDBLOCK": "WSAEWOULDBLOCK",
    "EINPROGRESS": "WSAEWOULDBLOCK",  # a non-blocking connect on Windows
    **{name: "WSA" + name for name in (
        "EINTR", "EBADF", "EACCES", "EFAULT", "EINVAL", "EMFILE", "EALREADY", "ENOTSOCK",
        "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT",
        "EOPNOTSUPP", "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN",
        "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET", "ENOBUFS", "EISCONN",
        "ENOTCONN", "ESHUTDOWN", "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH")},
}


def err(name: str) -> str:
    """An error code for both systems, e.g. ERR(ECONNREFUSED, WSAECONNREFUSED)."""
    return f"ERR({name}, {WINSOCK.get(name, '-1')})"


PRELUDE = """\
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
"""

FUNCTIONS = r"""
/*@ error_text */
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

/*@ would_block */
static int would_block(int e)
{
    return e == ERR(EAGAIN, WSAEWOULDBLOCK) || e == ERR(EWOULDBLOCK, WSAEWOULDBLOCK);
}

/*@ set_blocking */
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

/*@ set_inheritable */
/* Whether a program this one starts gets the socket too (close-on-exec off). */
static int set_inheritable(sock_t fd, int inheritable)
{
#ifdef _WIN32
    return SetHandleInformation((HANDLE)fd, HANDLE_FLAG_INHERIT,
                                inheritable ? HANDLE_FLAG_INHERIT : 0) ? 0 : -1;
#else
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
        return -1;
    flags = inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC);
    return fcntl(fd, F_SETFD, flags);
#endif
}

/*@ pause_for */
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

"""
