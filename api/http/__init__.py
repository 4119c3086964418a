"""HTTP plumbing around every route: authentication, access, limits, errors, request ids, security headers,
health and metrics."""
