"""S3 mode of the local endpoint: path-style (and virtual-host style) bucket and object operations.

Shares the server, faults, network shaping and counters with the Glacier side; see docs/endpoint.md.
"""
