"""The machine's connection table: netlink sock_diag dumps (netlink), /proc/net where a
protocol has no diag module (procnet), socket owners from /proc/*/fd (owners), the
kernel's counters (summary), and one source interface over them with psutil elsewhere
(source). The rows themselves, their filters and formatting are pure: core.conntable."""
