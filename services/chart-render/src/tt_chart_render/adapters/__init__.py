"""External systems of chart-render: object storage."""
