"""The call helpers of exported C programs, as source text: one per kind of call
(bind, connect, accept, send, receive, expect, SO_ERROR, pause, close), each checking
its return values against the recording. See c_runtime.py for the rest."""

from __future__ import annotations

CALLS = r"""
/*@ do_bind */
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

/*@ do_connect */
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

/*@ do_accept */
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

/*@ send_all */
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

/*@ send_to */
static int send_to(int seq, const char *what, int expect, int sid, const unsigned char *data,
                   size_t len, int flags, const struct addr *a)
{
    ssize_t n;
    for (;;) {
        n = sendto(fds[sid], (const char *)data, IO_LEN(len), flags,
                   (const struct sockaddr *)&a->ss, a->len);
        if (n >= 0 || expect != 0 || !would_block(sock_errno()))
            break;
        if (wait_fd(seq, what, fds[sid], POLLOUT) < 0)
            return -1;
    }
    if (outcome(seq, what, (int)n, expect) < 0)
        return -1;
    if (n >= 0 && (size_t)n != len) {
        differs(seq, what, "sent only part of the datagram");
        return -1;
    }
    return 0;
}

/*@ take */
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

/*@ settle */
/* Before a receive the recording saw fail: an error (a reset, a refusal) makes the
   socket readable when it comes; only EAGAIN is met at once. */
static int settle(int seq, const char *what, int sid, int expect)
{
    return would_block(expect) ? 0 : wait_fd(seq, what, fds[sid], POLLIN);
}

/*@ recv_until */
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

/*@ recv_datagrams */
/* Receive datagrams until the socket has count of them, each its recorded size. */
static int recv_datagrams(int seq, const char *what, int expect, int sid, size_t count,
                          const size_t *sizes, size_t size, int flags)
{
    char peek[1];
    ssize_t n;
    if (expect != 0)
        return settle(seq, what, sid, expect) < 0
                   ? -1 : outcome(seq, what, (int)recvfrom(fds[sid], peek, sizeof peek, flags,
                                                           NULL, NULL), expect);
    while (rx[sid].count < count) {
        n = take(seq, what, sid, size, flags, 1);
        if (n < 0)
            return -1;
        if ((size_t)n != sizes[rx[sid].count]) {
            fprintf(stderr, "differs: step %d: %s: a datagram of %zd bytes; the recording: "
                    "%zu\n", seq, what, n, sizes[rx[sid].count]);
            return -1;
        }
        rx[sid].count++;
    }
    printf("step %d: %s: datagram %zu received\n", seq, what, count);
    return 0;
}

/*@ recv_packets */
/* recv_datagrams for a raw or ping socket, which sees every packet of its protocol:
   of each datagram only part is compared (CUT_IP_HEADER: what follows the IPv4 header
   the kernel wrote; CUT_ICMP_IDENT: all but the ICMP identifier and checksum the kernel
   set on a ping socket), and one the recording did not have here is skipped. */
enum { CUT_NOTHING, CUT_IP_HEADER, CUT_ICMP_IDENT };
static int recv_packets(int seq, const char *what, int expect, int sid, size_t count,
                        const size_t *sizes, size_t size, int flags, int cut)
{
    if (expect != 0)
        return recv_datagrams(seq, what, expect, sid, count, sizes, size, flags);
    while (rx[sid].count < count) {
        size_t at = rx[sid].len, want = sizes[rx[sid].count], skip = 0, n;
        unsigned char *p;
        ssize_t got;
        if (wait_fd(seq, what, fds[sid], POLLIN) < 0) /* a packet that never comes: bounded */
            return -1;
        got = take(seq, what, sid, size, flags, 1);
        if (got < 0)
            return -1;
        p = rx[sid].buf + at;
        n = (size_t)got;
        if (cut == CUT_IP_HEADER && n > 0)
            skip = (size_t)(p[0] & 0x0f) * 4 < n ? (size_t)(p[0] & 0x0f) * 4 : n;
        memmove(p, p + skip, n - skip);
        n -= skip;
        if (cut == CUT_ICMP_IDENT && n >= 6)
            memset(p + 2, 0, 4);
        rx[sid].len = at + n;
        if (n != want || at + want > received[sid].len
            || memcmp(p, received[sid].data + at, want) != 0) {
            printf("step %d: %s: skipped a packet of %zu bytes the recording did not have "
                   "here\n", seq, what, n);
            rx[sid].len = at;
            continue;
        }
        rx[sid].count++;
    }
    printf("step %d: %s: datagram %zu received\n", seq, what, count);
    return 0;
}

/*@ check_expect */
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

/*@ check_name */
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

/*@ show_bytes */
/* A struct an option read gave back, in hex (the first 64 bytes). */
static void show_bytes(int seq, const unsigned char *v, socklen_t n)
{
    socklen_t i;
    printf("step %d: %u bytes:", seq, (unsigned)n);
    for (i = 0; i < n && i < 64; i++)
        printf(" %02x", v[i]);
    printf("%s\n", n > 64 ? " ..." : "");
}

/*@ so_error */
static int so_error(int seq, const char *what, int sid, int expect, int settle)
{
    int err = 0;
    socklen_t n = sizeof err;
    if (settle && wait_fd(seq, what, fds[sid], POLLOUT) < 0)
        return -1;
    if (getsockopt(fds[sid], SOL_SOCKET, SO_ERROR, (char *)&err, &n) < 0)
        return failed(seq, what, "getsockopt(SO_ERROR)");
    if (err != expect) {
        fprintf(stderr, "differs: step %d: %s: %s; the recording: %s\n", seq, what,
                err ? errno_name(err) : "no error", expect ? errno_name(expect) : "no error");
        return -1;
    }
    printf("step %d: %s: %s, as recorded\n", seq, what, err ? errno_name(err) : "no error");
    return 0;
}

/*@ do_close */
static void do_close(int seq, const char *what, int sid)
{
    if (fds[sid] != NO_SOCKET)
        close_socket(fds[sid]);
    fds[sid] = NO_SOCKET;
    printf("step %d: %s: ok\n", seq, what);
}

"""
