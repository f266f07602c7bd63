"""Engine registry, selection and protocol conformance."""
