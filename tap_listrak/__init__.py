"""tap-listrak: a Singer tap for the Listrak SOAP API v31."""

__version__ = "0.1.0"
