"""The pages the API serves to browsers: the creator dashboard and the API reference at /docs."""
