//! Ethernet, IPv4 and TCP wire formats.
