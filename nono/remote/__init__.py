"""Sessions on other hosts, reached through OpenSSH: hosts, the relay and the link to it."""
