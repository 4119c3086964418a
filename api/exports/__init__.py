"""The export endpoints: CSV and JSON rows, the comprehensive report, and its PDF."""
