"""The helpers every exported C program carries, as source text.

Each helper makes one kind of call, checks its return value against the recording
and says what differs with the call's name and the error's text (strerror, or the
Winsock message; see c_platform.py). `IO_POLL` chooses
the I/O model at compile time: 0 keeps sockets blocking as the session had them;
1 makes every socket non-blocking and waits in poll() (bounded by --timeout) before
a call the session made in blocking mode.
"""

from __future__ import annotations

import re

from workbench.export.c_calls import CALLS
from workbench.export.c_platform import FUNCTIONS, PRELUDE

INCLUDES = PRELUDE

HELPERS = r"""
struct addr { struct sockaddr_storage ss; socklen_t len; };
struct rx { unsigned char *buf; size_t len, cap, count; int stop; };

static sock_t fds[NSOCKS + 1];
static struct rx rx[NSOCKS + 1];
static const char *peer_given[NPEERS + 1];
static const char *target_given[NSOCKS + 1];
static int timeout_ms = 10000;

/*@ differs */
static void differs(int seq, const char *what, const char *how)
{
    fprintf(stderr, "differs: step %d: %s: %s\n", seq, what, how);
}

/*@ outcome */
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

/*@ failed */
static int failed(int seq, const char *what, const char *call)
{
    int e = sock_errno();
    fprintf(stderr, "differs: step %d: %s: %s failed: %s (%s)\n", seq, what, call,
            errno_name(e), error_text(e));
    return -1;
}

/*@ owed */
/* Whether a stream socket has yet to take bytes the recording says it received. */
static int owed(int sid)
{
    return received[sid].stream && !rx[sid].stop && fds[sid] != NO_SOCKET
           && rx[sid].len < received[sid].len;
}

/*@ room */
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

/*@ drain */
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

/*@ wait_fd */
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

/*@ adopt */
/* A new socket of the program; with IO_POLL it is non-blocking from the start. */
static int adopt(int seq, const char *what, int sid, sock_t fd)
{
    fds[sid] = fd;
    if (IO_POLL && set_blocking(fd, 0) < 0)
        return failed(seq, what, "set_blocking");
    return 0;
}

/*@ do_socket */
static int do_socket(int seq, const char *what, int expect, int sid, int family, int type,
                     int proto)
{
    sock_t fd = socket(family, type, proto);
    int ok = outcome(seq, what, fd == NO_SOCKET ? -1 : 0, expect);
    if (fd != NO_SOCKET && adopt(seq, what, sid, fd) < 0)
        return -1;
    return ok;
}

/*@ do_socketpair */
static int do_socketpair(int seq, const char *what, int expect, int first, int second,
                         int family, int type, int proto)
{
    int rc, ok;
#ifdef _WIN32
    sock_t sv[2] = {NO_SOCKET, NO_SOCKET};
    (void)family, (void)type, (void)proto;
    set_sock_errno(WSAEOPNOTSUPP); /* Winsock has no socketpair */
    rc = -1;
#else
    sock_t sv[2];
    rc = socketpair(family, type, proto, sv);
#endif
    ok = outcome(seq, what, rc, expect);
    if (rc == 0) {
        fds[first] = sv[0]; /* both are closed at the end whatever happens next */
        fds[second] = sv[1];
        if (adopt(seq, what, first, sv[0]) < 0 || adopt(seq, what, second, sv[1]) < 0)
            return -1;
    }
    return ok;
}

/*@ do_peek */
static int do_peek(int seq, const char *what, int expect, int sid, size_t size, int flags)
{
    unsigned char *buf = malloc(size ? size : 1);
    int rc;
    if (buf == NULL)
        return failed(seq, what, "malloc");
    rc = (int)recv(fds[sid], (char *)buf, IO_LEN(size), flags);
    free(buf);
    return outcome(seq, what, rc, expect);
}

/*@ to_addr */
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

/*@ destination */
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

"""

TAIL = r"""
/*@ first_difference */
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

/*@ compare */
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

/*@ usage */
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

/*@ parse_args */
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

/*@ main */
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
"""


def helpers(body: str) -> str:
    """The shared declarations, then the helpers the steps in `body` use and the ones
    those use (an unused static function would fail -Werror)."""
    declarations, marker, functions = HELPERS.partition("/*@ ")
    text = "".join(part.lstrip("\n") for part in (declarations, FUNCTIONS, marker + functions,
                                                  CALLS, TAIL))
    head, *parts = re.split(r"^/\*@ (\w+) \*/\n", text, flags=re.M)
    chunks = dict(zip(parts[::2], parts[1::2], strict=True))
    wanted, seen = {"main"}, body + chunks["main"]
    grew = True
    while grew:
        grew = False
        for name, code in chunks.items():
            if name not in wanted and re.search(rf"\b{name}\(", seen):
                wanted.add(name)
                seen += code
                grew = True
    return head + "".join(code for name, code in chunks.items() if name in wanted)
