"""The report laid out as a PDF with ReportLab: the document, its charts and its styles."""
