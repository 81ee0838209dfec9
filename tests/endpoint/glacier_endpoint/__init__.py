"""A local, faithful Amazon Glacier (vault API 2012-06-01) endpoint for tests and demos.

Standard library only. Run it with ``python -m glacier_endpoint --help``; see docs/endpoint.md.
"""

API_VERSION = "2012-06-01"
__version__ = "1.0.0"
