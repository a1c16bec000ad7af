"""Local emulator of the Listrak Email REST API v1 (the GET routes a tap reads, and the OAuth2 token endpoint).

A real HTTP/1.1 JSON server on 127.0.0.1 serving the same generated account as the SOAP emulator
(tests/emulator), plus the ground truth of every item it serves. See README.md beside this file.
"""
