"""What people see: routes, templates, static files, forms and translations."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
