"""Socket Workbench: a terminal workbench for sockets, built on a list of steps."""

__version__ = "0.1.0"
