"""Local emulator of the Listrak SOAP API v31 (the eighteen read operations the tap uses).

A real SOAP 1.1 HTTP server on 127.0.0.1 whose data is generated lazily and deterministically from
a seed, plus the ground truth of what the tap must emit for that data. See README.md beside this file.
"""
