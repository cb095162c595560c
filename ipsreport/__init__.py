"""ipsreport: a reproducible report of the IPS in Pain trial and the InStep pilot."""

__version__ = "0.1.0"
