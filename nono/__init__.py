"""nono: run AI coding agents in a kernel-enforced sandbox."""

__version__ = "0.1.0"
