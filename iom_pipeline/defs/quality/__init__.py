"""Quality domain: the Great Expectations suites, run as one validation asset whose checks gate publication."""
